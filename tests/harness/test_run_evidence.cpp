// Evidence that holds, end to end on a 64 MiB model: untraced repetitions
// give the headline numbers and traced ones the bpf_* evidence; a
// --processes fleet is cold or warm as verified by every loader, released by
// one barrier, and reads the file from storage once in total. Physical
// invariants and bookkeeping only, never times.
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/unique_fd.h"
#include "harness/plan.h"
#include "harness/runs_schema.h"
#include "schema/metrics.h"
#include "tests/harness/run_helpers.h"
#include "tests/harness/suite_folder.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::read_rows;
using testing::run_faultline;
using testing::slurp;

bool can_trace() {
#if FAULTLINE_HARNESS_BPF
  return !bpf::tracing_unavailable_reason();
#else
  return false;
#endif
}

class RunEvidence : public testing::RunSuite<RunEvidence> {
 public:
  static constexpr const char* kFolderPrefix = "faultline-evidence-test";
  static constexpr std::uint64_t kModelBytes = 64ull << 20;
  static constexpr std::uint64_t kSeed = 9;

 protected:
};

bool is_bpf(const std::string& name) {
  return name.starts_with("bpf_");
}

TEST_F(RunEvidence, UntracedRepsGiveTheHeadlinesTracedRepsTheEvidence) {
  auto r = run_faultline(
      {"run", "--model", model(), "--strategies", "mmap:private", "--patterns", "forward",
       "--cache", "cold", "--reps", "2", "--results", results_, "--no-calibration"},
      results_);
  ASSERT_EQ(r.code, 0) << r.err;
  const bool traced = can_trace();
  const auto plan = plan_from_json(nlohmann::json::parse(slurp(folder() + "/plan.json")));
  EXPECT_EQ(plan.reps, 2);
  // A run that cannot trace (unprivileged, built without bpf/) still runs
  // its traced repetition: every bpf_* of it says why it is missing.
  EXPECT_EQ(plan.traced_reps, 1);
  auto rows = read_rows(folder());
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.dump());
    EXPECT_THAT(runs::validate(row), ::testing::IsEmpty());
    EXPECT_EQ(row["status"], "ok");
    const int rep = row["rep"];
    const bool traced_rep = rep == 3;
    EXPECT_EQ(row["traced"], traced_rep);
    for (const auto& [name, _] : row["metrics"].items()) {
      if (!traced_rep) {
        EXPECT_FALSE(is_bpf(name)) << name << " in an untraced repetition";
      }
      EXPECT_FALSE(row["not_measured"].contains(name)) << name << " both measured and not";
    }
    std::set<std::string> raw;
    for (const auto& f : row["raw"]) raw.insert(f.get<std::string>());
    bool timeline = false;
    for (const auto& f : raw) timeline = timeline || f.ends_with(".timeline.json");
    EXPECT_EQ(timeline, traced_rep && traced)
        << "the timeline and RSS sampler run in traced reps only";
    if (!traced_rep) {
      // Untraced: no bpf_* in not_measured either; `traced: false` says it.
      for (const auto& [name, _] : row["not_measured"].items()) EXPECT_FALSE(is_bpf(name)) << name;
      EXPECT_GT(row["metrics"]["read_bytes"].get<double>(), 0.9 * kModelBytes);
    } else {
      // Traced: every bpf_* metric is measured or says why not.
      for (const auto& m : metric::kAll) {
        const std::string name(m.name);
        if (is_bpf(name)) {
          EXPECT_TRUE(row["metrics"].contains(name) || row["not_measured"].contains(name)) << name;
        }
      }
      if (traced) {
        EXPECT_GE(row["metrics"].value("bpf_pagecache_add_pages", 0.0), 0.9 * kModelBytes / 4096);
      } else {
        EXPECT_THAT(row["not_measured"].value("bpf_pagecache_add_pages", ""),
                    HasSubstr("ran untraced"));
      }
    }
  }
  // The summary table: the untraced repetitions only.
  EXPECT_THAT(r.out, HasSubstr("over the untraced repetitions"));

  // --no-trace: no traced repetitions at all.
  auto nt = run_faultline({"run", "--model", model(), "--strategies", "read", "--patterns", "none",
                           "--cache", "warm", "--reps", "1", "--traced-reps", "3", "--no-trace",
                           "--results", results_ + "-no-trace", "--no-calibration"},
                          results_ + "-no-trace");
  ASSERT_EQ(nt.code, 0) << nt.err;
  auto nt_folder = run_folders(results_ + "-no-trace");
  ASSERT_EQ(nt_folder.size(), 1u);
  EXPECT_EQ(read_rows(nt_folder[0]).size(), 1u);
}

// The sums over a fleet's loaders.
struct FleetSums {
  double read_bytes = 0, max_resident_pct = 0, min_resident_pct = 100;
  std::size_t loaders = 0;
};
FleetSums fleet_sums(const nlohmann::json& row) {
  FleetSums s;
  for (const auto& p : row["fleet"]) {
    ++s.loaders;
    s.read_bytes += p.value("read_bytes", -1e18);
    const double pct = p.value("resident_pct", -1.0);
    s.max_resident_pct = std::max(s.max_resident_pct, pct);
    s.min_resident_pct = std::min(s.min_resident_pct, pct);
  }
  return s;
}

TEST_F(RunEvidence, ColdFleetReadsTheFileOnceAndEveryLoaderVerifiedItsCacheState) {
  auto r = run_faultline({"run", "--model", model(), "--strategies", "mmap:shared,read",
                          "--patterns", "forward", "--cache", "cold,warm", "--reps", "1",
                          "--processes", "3", "--results", results_, "--no-calibration"},
                         results_);
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = read_rows(folder());
  ASSERT_EQ(rows.size(), 8u);  // 1 untraced + 1 traced (traced or saying why not) per cell
  for (const auto& row : rows) {
    SCOPED_TRACE(row.dump());
    ASSERT_THAT(runs::validate(row), ::testing::IsEmpty());
    ASSERT_EQ(row["status"], "ok");
    const FleetSums s = fleet_sums(row);
    ASSERT_EQ(s.loaders, 3u);
    if (row["cache"] == "cold") {
      // Verified cold by each loader, released together: the file came from
      // storage once in all, not once per loader.
      EXPECT_LE(s.max_resident_pct, 1.0);
      EXPECT_GE(s.min_resident_pct, 0.0);
      EXPECT_GT(s.read_bytes, 0.9 * kModelBytes);
      EXPECT_LT(s.read_bytes, 1.25 * kModelBytes);
    } else {
      EXPECT_GE(s.min_resident_pct, 99.0);
      EXPECT_LT(s.read_bytes, 0.05 * kModelBytes);
    }
    if (row["traced"] == true && can_trace()) {
      // The fleet's bpf_* cover release -> last ready: the harness's own
      // eviction is outside it.
      const auto& m = row["metrics"];
      EXPECT_LT(m.value("bpf_pagecache_evict_pages", 0.0), 0.05 * kModelBytes / 4096);
      if (row["cache"] == "cold") {
        EXPECT_GT(m.value("bpf_pagecache_add_pages", 0.0), 0.9 * kModelBytes / 4096);
      }
    }
  }
}

TEST_F(RunEvidence, AFleetLoaderThatFindsTheFileNotColdFailsTheCell) {
  // Pages this test holds locked cannot be evicted: the loaders see them.
  UniqueFd fd(::open(model().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  const std::size_t locked = 4u << 20;
  void* p = ::mmap(nullptr, locked, PROT_READ, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED);
  if (::mlock(p, locked) != 0) {
    ::munmap(p, locked);
    GTEST_SKIP() << "cannot mlock 4 MiB here (RLIMIT_MEMLOCK)";
  }
  auto r = run_faultline({"run", "--model", model(), "--strategies", "mmap:shared", "--patterns",
                          "none", "--cache", "cold", "--reps", "1", "--traced-reps", "0",
                          "--processes", "2", "--results", results_, "--no-calibration"},
                         results_);
  ::munlock(p, locked);
  ::munmap(p, locked);
  EXPECT_EQ(r.code, 1) << r.err;
  auto rows = read_rows(folder());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(runs::validate(rows[0]), ::testing::IsEmpty());
  EXPECT_EQ(rows[0]["status"], "failed");
  EXPECT_THAT(rows[0]["error"].get<std::string>(), HasSubstr("resident before the load"));
  EXPECT_THAT(rows[0]["error"].get<std::string>(), HasSubstr("checked by loader"));
  EXPECT_THAT(r.last_line(), HasSubstr("1 of 1 cells not ok (1 failed)"));
}

TEST_F(RunEvidence, DoctorVerdictsInEnvJsonApplyToEveryRow) {
  auto first = run_faultline(
      {"run", "--model", model(), "--strategies", "read", "--patterns", "none", "--cache", "warm",
       "--reps", "2", "--traced-reps", "0", "--results", results_, "--no-calibration", "--quiet"},
      results_);
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string dir = folder();
  // `faultline doctor` found getrusage wrong on this kernel (made up here):
  // the second row is dropped and run again under that verdict.
  auto env = nlohmann::json::parse(slurp(dir + "/env.json"));
  env["doctor"] = {{"families",
                    {{"rusage",
                      {{"verdict", "fail"},
                       {"mechanism", "getrusage"},
                       {"reason", "counted 0 major faults where 4096 were taken"}}},
                     {"proc_io", {{"verdict", "pass"}, {"mechanism", "/proc/self/io"}}}}},
                   {"checks", nlohmann::json::array()}};
  std::ofstream(dir + "/env.json") << env.dump();
  const std::string runs = slurp(dir + "/runs.jsonl");
  std::ofstream(dir + "/runs.jsonl") << runs.substr(0, runs.find('\n') + 1);
  auto resumed = run_faultline({"run", "--resume", dir, "--quiet"}, results_ + "-resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("faultline doctor: rusage failed"));
  auto rows = read_rows(dir);
  ASSERT_EQ(rows.size(), 2u);
  const auto& row = rows[1];
  EXPECT_THAT(runs::validate(row), ::testing::IsEmpty());
  for (const char* m : {"major_faults", "minor_faults"}) {
    EXPECT_FALSE(row["metrics"].contains(m)) << m;
    EXPECT_EQ(row["not_measured"].value(m, ""),
              "faultline doctor: rusage failed its known-answer check on this kernel: counted 0 "
              "major faults where 4096 were taken");
  }
  EXPECT_TRUE(row["metrics"].contains("read_bytes"));  // proc_io passed
}

}  // namespace
}  // namespace faultline::harness
