// Physical invariants of one measurement (DESIGN.md): fault counts, RSS,
// residency and bytes read, never wall-clock times.
#include "benchmarks/measure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <time.h>

#include <cstdio>
#include <memory>

#include "schema/metrics.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

using testing::TempFile;

constexpr std::uint64_t kSize = 64ull << 20;
constexpr double kPages = kSize / 4096.0;

class MeasureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    file_ = new TempFile(kSize, 11);
    layout_ = new ModelLayout;
    layout_->path = file_->path();
    layout_->file_size = kSize;
    layout_->tensors.push_back({"data", 0, kSize, "U8", -1, -1});
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete file_;
  }
  static Measurement run(const std::string& strategy, const std::string& pattern,
                         CacheState cache) {
    LoadCell cell{parse_strategy(strategy), parse_pattern(pattern), cache};
    return measure_load(file_->path(), *layout_, cell);
  }

 public:
  static double get(const Measurement& m, std::string_view name) {
    auto it = m.metrics.find(std::string(name));
    EXPECT_NE(it, m.metrics.end()) << "metric " << name << " missing";
    return it == m.metrics.end() ? -1 : it->second;
  }

 protected:
  static double faults(const Measurement& m) {
    return get(m, metric::kMajorFaults) + get(m, metric::kMinorFaults);
  }
  static TempFile* file_;
  static ModelLayout* layout_;
};
TempFile* MeasureTest::file_ = nullptr;
ModelLayout* MeasureTest::layout_ = nullptr;

TEST_F(MeasureTest, EveryDesignMetricIsReported) {
  auto m = run("mmap:private", "sequential", CacheState::kWarm);
  for (auto name : {metric::kReadyMs, metric::kFirstPassMs, metric::kTotalMs, metric::kTouchedBytes,
                    metric::kGbps, metric::kReadGbps, metric::kReadAmplification, metric::kRssBytes,
                    metric::kRssFileBytes, metric::kRssAnonBytes, metric::kPeakRssBytes,
                    metric::kPssBytes, metric::kMajorFaults, metric::kMinorFaults,
                    metric::kReadBytes, metric::kResidentPct, metric::kTaskClockMs})
    EXPECT_TRUE(m.metrics.count(std::string(name))) << name;
  EXPECT_EQ(m.pages_touched, kSize / 4096);
  EXPECT_EQ(get(m, metric::kTouchedBytes), double(kSize));
  // Nothing is both measured and not measured; touch timing is off by default.
  for (const auto& [name, why] : m.availability.not_measured)
    EXPECT_FALSE(m.metrics.count(name)) << name << ": " << why;
  EXPECT_THAT(m.availability.not_measured.at(std::string(metric::kTouchP50Us)),
              ::testing::HasSubstr("--touch-latency"));
  EXPECT_THAT(m.availability.probes,
              ::testing::Contains(::testing::StartsWith("perf:task-clock (inherit")));
}

// gbps is the bytes the pattern touched per second; a pattern that touches
// nothing has none (and no read amplification), with the reason.
TEST_F(MeasureTest, PatternNoneHasNoThroughput) {
  auto m = run("read", "none", CacheState::kWarm);
  EXPECT_EQ(get(m, metric::kTouchedBytes), 0.0);
  for (auto name : {metric::kGbps, metric::kReadAmplification}) {
    EXPECT_FALSE(m.metrics.count(std::string(name))) << name;
    EXPECT_TRUE(m.availability.not_measured.count(std::string(name))) << name;
  }
  EXPECT_TRUE(m.metrics.count(std::string(metric::kReadGbps)));
}

TEST_F(MeasureTest, ColdMeansEvictedWarmMeansResident) {
  EXPECT_LE(get(run("read", "none", CacheState::kCold), metric::kResidentPct), 1.0);
  EXPECT_GE(get(run("read", "none", CacheState::kWarm), metric::kResidentPct), 99.0);
}

TEST_F(MeasureTest, AdviseRandomFaultsOncePerPage) {
  auto m = run("mmap:private,advise=random", "sequential", CacheState::kCold);
  EXPECT_GE(faults(m), 0.9 * kPages) << "no readahead, no fault-around of uncached pages";
}

TEST_F(MeasureTest, DefaultAdviceReadsAheadSoFewFaults) {
  auto m = run("mmap:private", "sequential", CacheState::kCold);
  EXPECT_LE(faults(m), 0.2 * kPages) << "readahead + fault-around map many pages per fault";
  EXPECT_GT(get(m, metric::kMajorFaults), 0) << "a cold load waits for I/O";
}

TEST_F(MeasureTest, PopulateMapsTheWholeFileBeforeReady) {
  auto pop = run("mmap:private,populate", "none", CacheState::kCold);
  EXPECT_GE(get(pop, metric::kRssFileBytes), 0.95 * kSize);
  auto lazy = run("mmap:private", "none", CacheState::kCold);
  EXPECT_LE(get(lazy, metric::kRssFileBytes), 0.05 * kSize);
  EXPECT_LE(get(lazy, metric::kRssBytes), 0.05 * kSize);
}

TEST_F(MeasureTest, ReadCopiesIntoAnonymousMemory) {
  auto m = run("read", "none", CacheState::kCold);
  EXPECT_GE(get(m, metric::kRssAnonBytes), 0.95 * kSize);
  EXPECT_LE(get(m, metric::kRssFileBytes), 0.05 * kSize);
  EXPECT_GE(get(m, metric::kReadBytes), 0.9 * kSize) << "cold: the bytes came from storage";
  EXPECT_GE(get(m, metric::kPeakRssBytes), 0.95 * kSize);
  auto warm = run("read", "none", CacheState::kWarm);
  EXPECT_LE(get(warm, metric::kReadBytes), 0.05 * kSize) << "warm: from the page cache";
}

TEST_F(MeasureTest, SharedMappingPssIsFileSizedWhenAlone) {
  auto m = run("mmap:shared,populate", "none", CacheState::kWarm);
  EXPECT_GE(get(m, metric::kPssBytes), 0.95 * kSize);
}

// CPU clocks of this process and of the calling thread, in ms.
double cpu_ms(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// The process's and the calling thread's CPU time over the timed region,
// read by a region probe (begin() right before the counters start, end()
// right after they stop and the samples are taken).
struct CpuAroundRegion {
  double process_ms = 0, thread_ms = 0;
  RegionProbe probe() {
    RegionProbe p;
    p.begin = [this](const LoadCell&) {
      process_ms = -cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
      thread_ms = -cpu_ms(CLOCK_THREAD_CPUTIME_ID);
    };
    p.end = [this](const LoadCell&) {
      process_ms += cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
      thread_ms += cpu_ms(CLOCK_THREAD_CPUTIME_ID);
      return std::vector<std::pair<std::string, double>>{};
    };
    return p;
  }
};

// task_clock_ms counts every thread of the load: pread's four threads do the
// copying, the calling thread only waits for them.
TEST_F(MeasureTest, TaskClockCountsEveryThreadOfTheLoad) {
  for (const char* strategy : {"pread:threads=4", "uring:qd=8"}) {
    for (CacheState cache : {CacheState::kWarm, CacheState::kCold}) {
      SCOPED_TRACE(std::string(strategy) + " " + to_string(cache));
      CpuAroundRegion cpu;
      RegionProbe probe = cpu.probe();
      MeasureOptions opt;
      opt.region_probe = &probe;
      LoadCell cell{parse_strategy(strategy), parse_pattern("none"), cache};
      const Measurement m = measure_load(file_->path(), *layout_, cell, opt);
      const double task_clock = get(m, metric::kTaskClockMs);
      std::printf(
          "[ note ] %s %s: task_clock_ms %.2f, process CPU %.2f ms, calling thread %.2f ms\n",
          strategy, to_string(cache), task_clock, cpu.process_ms, cpu.thread_ms);
      // The counters count the process's CPU, every thread of it. The two
      // clocks differ: perf's task-clock (local_clock between context
      // switches) was seen up to 40 % above CLOCK_PROCESS_CPUTIME_ID (the
      // scheduler's runtime) on the test VM when other processes preempted
      // the load, never far below it; a count of the calling thread alone
      // would be far below.
      EXPECT_GE(task_clock, 0.8 * cpu.process_ms - 2.0);
      EXPECT_LE(task_clock, 1.5 * cpu.process_ms + 2.0);
      if (std::string(strategy).starts_with("pread")) {
        EXPECT_GT(task_clock, 3 * cpu.thread_ms) << "the threads' CPU is in it";
      }
    }
  }
}

// The first touch of a page that must come from storage (advise=random: no
// readahead, no fault-around, one major fault per page) takes far longer
// than one already in the page cache (a minor fault), and every page is
// timed once.
TEST_F(MeasureTest, TouchLatencySeesColdFaultsFarAboveWarmOnes) {
  MeasureOptions opt;
  opt.touch_latency = true;
  LoadCell cold{parse_strategy("mmap:private,advise=random"), parse_pattern("sequential"),
                CacheState::kCold};
  LoadCell warm = cold;
  warm.cache = CacheState::kWarm;
  const Measurement c = measure_load(file_->path(), *layout_, cold, opt);
  const Measurement w = measure_load(file_->path(), *layout_, warm, opt);
  for (const Measurement* m : {&c, &w}) {
    ASSERT_TRUE(m->touch_latency_ns.has_value());
    EXPECT_EQ(m->touch_latency_ns->count(), m->pages_touched);
    EXPECT_THAT(m->availability.probes, ::testing::Contains("touch_timer"));
    EXPECT_LE(get(*m, metric::kTouchP50Us), get(*m, metric::kTouchP99Us));
  }
  const double cold_p50 = get(c, metric::kTouchP50Us), warm_p50 = get(w, metric::kTouchP50Us);
  std::printf("[ note ] touch p50: cold %.2f us, warm %.2f us\n", cold_p50, warm_p50);
  EXPECT_GT(cold_p50, 5 * warm_p50);
}

TEST_F(MeasureTest, PatternThatDoesNotFitIsAnError) {
  LoadCell cell{parse_strategy("read"), parse_pattern("moe:2/8"), CacheState::kWarm};
  EXPECT_THROW(measure_load(file_->path(), *layout_, cell), std::invalid_argument);
}

// A 256 MiB file with a layout of two layers: big enough that readahead's
// 8 MiB windows (read_ahead_kb on the test machine) are a small part of it.
class BigFileTest : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kBig = 256ull << 20;
  static constexpr std::uint64_t kLayer0 = 16ull << 20;
  static void SetUpTestSuite() {
    file_ = new TempFile(kBig, 12);
    layout_ = new ModelLayout;
    layout_->path = file_->path();
    layout_->file_size = kBig;
    layout_->n_layers = 2;
    layout_->tensors.push_back({"token_embd.weight", 0, kLayer0, "U8", -1, -1});
    layout_->tensors.push_back({"blk.0.w", kLayer0, kLayer0 + 123, "U8", 0, -1});
    layout_->tensors.push_back(
        {"blk.1.w", 2 * kLayer0 + 123, kBig - 2 * kLayer0 - 123, "U8", 1, -1});
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete file_;
  }
  static Measurement run(const std::string& strategy, const std::string& pattern) {
    LoadCell cell{parse_strategy(strategy), parse_pattern(pattern), CacheState::kCold};
    return measure_load(file_->path(), *layout_, cell);
  }
  static double get(const Measurement& m, std::string_view name) {
    return MeasureTest::get(m, name);
  }
  static TempFile* file_;
  static ModelLayout* layout_;
};
TempFile* BigFileTest::file_ = nullptr;
ModelLayout* BigFileTest::layout_ = nullptr;

// gbps divides the bytes the pattern touched, not the file, and
// read_amplification compares them with what came from storage: a cold
// random:2048 through fault readahead reads many times what it touches,
// under advise=random about what it touches.
TEST_F(BigFileTest, ReadAmplificationOfRandomPages) {
  const auto readahead = run("mmap:private", "random:2048");
  const auto random = run("mmap:private,advise=random", "random:2048");
  const double touched = double(
      bytes_covered(plan_ranges(parse_pattern("random:2048"), *layout_), layout_->file_size));
  for (const Measurement* m : {&readahead, &random}) {
    EXPECT_EQ(get(*m, metric::kTouchedBytes), touched);
    EXPECT_NEAR(get(*m, metric::kGbps), touched / (get(*m, metric::kTotalMs) * 1e6),
                1e-9 * get(*m, metric::kGbps));
    EXPECT_NEAR(get(*m, metric::kReadAmplification), get(*m, metric::kReadBytes) / touched,
                1e-9 * get(*m, metric::kReadAmplification));
  }
  const double amplified = get(readahead, metric::kReadBytes) / touched;
  const double exact = get(random, metric::kReadBytes) / touched;
  std::printf("[ note ] random:2048 read amplification: mmap:private %.1fx, advise=random %.2fx\n",
              amplified, exact);
  EXPECT_GT(amplified, 10.0);
  EXPECT_GE(exact, 0.9);
  EXPECT_LE(exact, 1.5);
}

TEST_F(BigFileTest, FirstLayerThroughputUsesTheFirstLayersBytes) {
  const auto m = run("mmap:private", "first-layer");
  const double layer0 = double(kLayer0 + 4096);  // 16 MiB + 123 bytes: one page more
  EXPECT_EQ(get(m, metric::kTouchedBytes), layer0);
  EXPECT_NEAR(get(m, metric::kGbps), layer0 / (get(m, metric::kTotalMs) * 1e6),
              1e-9 * get(m, metric::kGbps));
}

}  // namespace
}  // namespace faultline
