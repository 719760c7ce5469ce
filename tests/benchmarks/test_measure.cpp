// Physical invariants of one measurement (DESIGN.md): fault counts, RSS,
// residency and bytes read, never wall-clock times.
#include "benchmarks/measure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "schema/metrics.h"
#include "tests/support/capture.h"
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
  static double get(const Measurement& m, std::string_view name) {
    auto it = m.metrics.find(std::string(name));
    EXPECT_NE(it, m.metrics.end()) << "metric " << name << " missing";
    return it == m.metrics.end() ? -1 : it->second;
  }
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
  for (auto name :
       {metric::kReadyMs, metric::kFirstPassMs, metric::kTotalMs, metric::kGbps, metric::kRssBytes,
        metric::kRssFileBytes, metric::kRssAnonBytes, metric::kPeakRssBytes, metric::kPssBytes,
        metric::kMajorFaults, metric::kMinorFaults, metric::kReadBytes, metric::kResidentPct})
    EXPECT_TRUE(m.metrics.count(std::string(name))) << name;
  EXPECT_EQ(m.pages_touched, kSize / 4096);
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

TEST_F(MeasureTest, PatternThatDoesNotFitIsAnError) {
  LoadCell cell{parse_strategy("read"), parse_pattern("moe:2/8"), CacheState::kWarm};
  EXPECT_THROW(measure_load(file_->path(), *layout_, cell), std::invalid_argument);
}

// faultline-bench end to end: one cell selected by filter, JSON counters with
// the DESIGN.md names.
TEST_F(MeasureTest, BenchBinaryReportsCountersAsJson) {
  std::string cmd = std::string(FAULTLINE_BENCH) + " --model " + file_->path() +
                    " --strategies read,mmap:private,populate --patterns none --cache warm"
                    " --iterations 1 --benchmark_format=json"
                    " --benchmark_filter='^load/mmap:private,populate/none/warm/' 2>/dev/null";
  auto run = testing::capture(cmd);
  ASSERT_EQ(run.status, 0);
  const std::string& out = run.out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["benchmarks"].size(), 1u);
  const auto& b = j["benchmarks"][0];
  // Google Benchmark appends its own suffixes (iterations, manual time) to the cell name.
  EXPECT_EQ(b["name"], "load/mmap:private,populate/none/warm/iterations:1/manual_time");
  EXPECT_GE(b["rss_file_bytes"].get<double>(), 0.95 * kSize);
  EXPECT_TRUE(b.contains("ready_ms"));
  EXPECT_EQ(j["context"]["faultline_model"], file_->path());
}

}  // namespace
}  // namespace faultline
