// faultline-bench --trace: the tracer's counters of the timed region become
// benchmark counters, and --trace-timeline writes the region's events without
// adding to the memory the benchmark measures.
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/bpf/bpf_test_support.h"
#include "tests/support/capture.h"

namespace faultline::testing {
namespace {

namespace fs = std::filesystem;

nlohmann::json only_benchmark(const std::string& out) {
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["benchmarks"].size(), 1u);
  return j["benchmarks"].at(0);
}

TEST(BenchTrace, TimedRegionCountersAndTimeline) {
  if (auto why = bpf_skip_reason()) GTEST_SKIP() << *why;
  ColdFile file(64ull << 20);
  fs::path dir = fs::temp_directory_path() / ("faultline-timeline-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto run = capture(std::string(FAULTLINE_BENCH) + " --model " + file.path() +
                     " --strategies mmap:private --patterns sequential --cache cold"
                     " --iterations 1 --benchmark_format=json --trace --trace-timeline " +
                     dir.string() + " 2>/dev/null");
  ASSERT_EQ(run.status, 0);
  auto b = only_benchmark(run.out);
  const double pages = double(file.pages());
  EXPECT_NEAR(b["bpf_pagecache_add_pages"].get<double>(), pages, 0.05 * pages);
  EXPECT_GT(b["bpf_ra_async"].get<double>(), 0);
  EXPECT_EQ(b["bpf_dropped"].get<double>(), 0);
  EXPECT_LT(b["rss_anon_bytes"].get<double>(), 1 << 20) << "the timeline buffer is not the load's";

  auto tl_path = dir / "load_mmap_private_sequential_cold.timeline.json";
  ASSERT_TRUE(fs::exists(tl_path));
  std::ifstream in(tl_path);
  auto tl = nlohmann::json::parse(in);
  EXPECT_EQ(tl["cell"], "load/mmap:private/sequential/cold");
  ASSERT_FALSE(tl["timeline"].empty());
  std::size_t faults = 0;
  for (const auto& e : tl["timeline"]) {
    if (e["kind"] == "filemap_fault" || e["kind"] == "faultaround") {
      ++faults;
      EXPECT_LT(e["offset"].get<double>(), double(file.size()));
    }
  }
  EXPECT_GT(faults, 0u);
  EXPECT_FALSE(tl["rss"]["samples"].empty());
  fs::remove_all(dir);
}

// One cell's metrics from faultline-bench --json (standalone, this user).
nlohmann::json bench_cell(const std::string& model, const std::string& extra) {
  const std::string json = model + ".cell.json";
  auto run = capture(std::string(FAULTLINE_BENCH) + " --model " + model +
                     " --strategies mmap:private --patterns none --cache warm --iterations 1 "
                     "--benchmark_format=json --json " +
                     json + " " + extra + " 2>/dev/null");
  EXPECT_EQ(run.status, 0);
  std::ifstream in(json);
  auto j = nlohmann::json::parse(in, nullptr, false);
  fs::remove(json);
  return j.is_object() ? j["cells"].at(0)["metrics"] : nlohmann::json::object();
}

TEST(BenchTrace, TheTimelineTracerIsNotInTheMeasurement) {
  // --trace-timeline allocates its event buffer and starts its threads
  // (ring-buffer poller, 5 ms RSS sampler) in RegionProbe::prepare, before
  // the "before" samples: the load's memory is the same with or without it.
  if (auto why = bpf_skip_reason()) GTEST_SKIP() << *why;
  ColdFile file(64ull << 20);
  fs::path dir = fs::temp_directory_path() / ("faultline-tl-rss-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto plain = bench_cell(file.path(), "");
  const auto traced = bench_cell(file.path(), "--trace-timeline " + dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(traced.contains("bpf_dropped")) << "the timeline run was not traced";
  // (peak_rss_bytes is left out: it moves by ~100 KiB between untraced runs.)
  EXPECT_NEAR(traced.value("rss_anon_bytes", -1e18), plain.value("rss_anon_bytes", 1e18), 64 << 10);
  // Pss less the model's pages: how many of the untouched mapping's pages the
  // load's own reads map moves with fault-around by itself (64 or 128 KiB
  // over 12 untraced runs here, 0 or 16 KiB traced), and it is not the
  // tracer's; what the tracer would add (its buffers) stays in.
  auto pss_not_file = [](const nlohmann::json& m, double missing) {
    return m.value("pss_bytes", missing) - m.value("rss_file_bytes", 0.0);
  };
  EXPECT_NEAR(pss_not_file(traced, -1e18), pss_not_file(plain, 1e18), 64 << 10) << "pss_bytes";
  EXPECT_NEAR(traced.value("minor_faults", -1e9), plain.value("minor_faults", 1e9), 16)
      << "the tracer's threads would fault in their stacks and buffers";
}

TEST(BenchTrace, UnprivilegedRunsUntracedWithOneWarning) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the benchmark as another user";
  ColdFile file(4ull << 20);
  auto run = capture("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                     std::string(FAULTLINE_BENCH) + " --model " + file.path() +
                     " --strategies read --patterns none --cache warm --iterations 1"
                     " --benchmark_format=json --trace 2>&1 >/dev/null");
  EXPECT_THAT(run.out, ::testing::HasSubstr("tracing unavailable"));
  EXPECT_EQ(WEXITSTATUS(run.status), 0);
}

}  // namespace
}  // namespace faultline::testing
