// End to end: the faultline executable on a 64 MiB generated model. Physical
// invariants and bookkeeping only (rows, keys, statuses, cgroups), never times.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "benchmarks/tensor_plan.h"
#include "common/cgroup.h"
#include "common/process.h"
#include "datasets/generator.h"
#include "harness/damon.h"
#include "harness/plan.h"
#include "harness/runs_schema.h"
#include "schema/metrics.h"
#include "tests/harness/run_helpers.h"
#include "tests/harness/suite_folder.h"

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

using testing::read_rows;
using testing::slurp;
using Result = testing::RunResult;

class RunE2E : public testing::RunSuite<RunE2E> {
 public:
  static constexpr const char* kFolderPrefix = "faultline-harness-test";
  static constexpr std::uint64_t kModelBytes = 64ull << 20;
  static constexpr std::uint64_t kSeed = 7;

 protected:
  // Starts `faultline <args>`; stdout/stderr go to files read by finish().
  pid_t start(std::vector<std::string> args) {
    return testing::start_faultline(std::move(args), results_);
  }
  Result finish(pid_t pid) { return testing::finish_faultline(pid, results_); }
  Result run(std::vector<std::string> args) { return finish(start(std::move(args))); }
  std::string run_folder() { return folder(); }
  static std::vector<nlohmann::json> rows(const std::string& folder) { return read_rows(folder); }
  static void expect_no_cell_cgroups() {
    EXPECT_THAT(list_cell_cgroups(detect_cgroups()), ::testing::IsEmpty());
  }
};

TEST_F(RunE2E, SmallMatrixGivesOneValidRowPerCellAndRep) {
  auto r = run({"run", "--model", model(), "--strategies", "read,mmap:private,mmap:shared,populate",
                "--cache", "cold,warm", "--reps", "2", "--results", results_});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string folder = run_folder();
  EXPECT_THAT(fs::path(folder).filename().string(), HasSubstr("-custom"));
  for (const char* f : {"env.json", "plan.json", "calibration.json", "runs.jsonl"})
    EXPECT_TRUE(fs::exists(folder + "/" + f)) << f;
  auto all = rows(folder);
  auto plan = plan_from_json(nlohmann::json::parse(slurp(folder + "/plan.json")));
  EXPECT_EQ(plan.reps, 2);
  ASSERT_EQ(all.size(), 3u * 2 /*patterns*/ * 2 /*caches*/ * (2 + plan.traced_reps));
  std::set<std::string> keys;
  for (const auto& row : all) {
    EXPECT_THAT(runs::validate(row), ::testing::IsEmpty()) << row.dump();
    EXPECT_EQ(row[runs::field::kStatus], "ok") << row.dump();
    keys.insert(runs::row_key(row));
    for (const auto& raw : row[runs::field::kRaw])
      EXPECT_TRUE(fs::exists(folder + "/" + raw.get<std::string>()));
    // read copies the file into anonymous memory: anon RSS ~ model size.
    if (row[runs::field::kStrategy] == "read") {
      EXPECT_GT(row[runs::field::kMetrics]["rss_anon_bytes"].get<double>(), 0.9 * kModelBytes);
    }
  }
  EXPECT_EQ(keys.size(), all.size());
  for (const auto& c : plan.cells()) EXPECT_TRUE(keys.count(c.key())) << c.key();
  EXPECT_THAT(r.out, HasSubstr("cold ready ms"));
  EXPECT_THAT(r.out, HasSubstr(folder));
  auto env = nlohmann::json::parse(slurp(folder + "/env.json"));
  EXPECT_TRUE(env.contains("kernel"));
  EXPECT_TRUE(env["model"].contains("filesystem"));
  expect_no_cell_cgroups();
}

TEST_F(RunE2E, InterruptThenResumeRunsEveryCellExactlyOnce) {
  // advise=random cold forward is slow enough (one 4 KiB fault at a time) to interrupt.
  std::vector<std::string> args = {"run",
                                   "--model",
                                   model(),
                                   "--strategies",
                                   "read,mmap:private,advise=random",
                                   "--patterns",
                                   "forward",
                                   "--reps",
                                   "3",
                                   "--results",
                                   results_,
                                   "--no-calibration"};
  pid_t pid = start(args);
  std::string runs_file;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no rows appeared";
    if (fs::exists(results_))
      for (const auto& e : fs::directory_iterator(results_))
        if (fs::exists(e.path() / "runs.jsonl")) runs_file = (e.path() / "runs.jsonl").string();
    if (!runs_file.empty() && rows(fs::path(runs_file).parent_path()).size() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGINT);
  Result r = finish(pid);
  EXPECT_EQ(r.code, 128 + SIGINT) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--resume"));
  std::string folder = run_folder();
  std::size_t before = rows(folder).size();
  EXPECT_GE(before, 3u);
  EXPECT_LT(before, 12u);
  expect_no_cell_cgroups();
  for (const auto& e : fs::directory_iterator(folder + "/raw"))
    EXPECT_EQ(e.path().string().find(".part"), std::string::npos) << e.path();

  Result resumed = run({"run", "--resume", folder});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  auto all = rows(folder);
  const auto plan = plan_from_json(nlohmann::json::parse(slurp(folder + "/plan.json")));
  ASSERT_EQ(all.size(), 2u * 1 * 2 * (3 + plan.traced_reps));
  std::map<std::string, int> seen;
  for (const auto& row : all) {
    EXPECT_THAT(runs::validate(row), ::testing::IsEmpty());
    seen[runs::row_key(row)]++;
  }
  EXPECT_EQ(seen.size(), all.size());
  for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
  expect_no_cell_cgroups();
}

TEST_F(RunE2E, MemoryLimitBelowTheModelRecordsTheOomKill) {
  if (::geteuid() != 0) GTEST_SKIP() << "--memory-limit needs root (memory cgroups)";
  // Cold: a warm cell cannot be warm in a cgroup smaller than the file (its own
  // warming read is reclaimed), which the row records as a failure instead.
  auto r = run({"run", "--model", model(), "--strategies", "read", "--patterns", "none", "--cache",
                "cold", "--reps", "1", "--traced-reps", "0", "--memory-limit", "32M", "--results",
                results_, "--no-calibration"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto all = rows(run_folder());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_THAT(runs::validate(all[0]), ::testing::IsEmpty());
  EXPECT_EQ(all[0][runs::field::kStatus], "oom_killed") << all[0].dump();
  EXPECT_EQ(all[0][runs::field::kMemoryLimitBytes], 32ull << 20);
  EXPECT_THAT(r.out, HasSubstr("oom_killed"));
  expect_no_cell_cgroups();
}

TEST_F(RunE2E, FleetOfThreeSharesMmapButNotRead) {
  auto r = run({"run", "--model", model(), "--strategies", "mmap:shared,read", "--patterns",
                "forward", "--cache", "warm", "--reps", "1", "--traced-reps", "0", "--processes",
                "3", "--results", results_, "--no-calibration"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto all = rows(run_folder());
  ASSERT_EQ(all.size(), 2u);
  const double model_bytes = double(kModelBytes);
  for (const auto& row : all) {
    ASSERT_THAT(runs::validate(row), ::testing::IsEmpty());
    ASSERT_EQ(row[runs::field::kStatus], "ok") << row.dump();
    ASSERT_EQ(row[runs::field::kFleet].size(), 3u);
    double rss = row[runs::field::kMetrics]["fleet_rss_bytes"];
    double pss = row[runs::field::kMetrics]["fleet_pss_bytes"];
    double per_rss = 0;
    for (const auto& p : row[runs::field::kFleet]) per_rss += p["rss_bytes"].get<double>();
    EXPECT_DOUBLE_EQ(per_rss, rss);
    EXPECT_GT(rss, 2.7 * model_bytes) << row[runs::field::kStrategy];  // each maps the whole file
    if (row[runs::field::kStrategy] == "mmap:shared") {
      EXPECT_LT(pss, 0.5 * rss);  // one page-cache copy, split three ways
      EXPECT_NEAR(pss, model_bytes, 0.2 * model_bytes);
    } else {
      EXPECT_NEAR(pss, rss, 0.1 * rss);  // three private copies
      EXPECT_NEAR(pss, 3 * model_bytes, 0.15 * 3 * model_bytes);
    }
  }
  expect_no_cell_cgroups();
}

TEST_F(RunE2E, BadArgumentsFailBeforeAnythingRuns) {
  std::string a_file = *dir_ + "/a-file";
  std::ofstream(a_file) << "x";
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  std::vector<Case> cases = {
      {{"--strategies", "mmap:sideways"}, "sideways"},
      {{"--preset", "turbo"}, "unknown preset 'turbo'"},
      {{"--model", *dir_ + "/missing.gguf"}, "missing.gguf does not exist"},
      {{"--size", "64"}, "without a unit"},
      {{"--memory-limit", "512"}, "without a unit"},
      {{"--results", a_file + "/results", "--size", "64M"}, "not writable"},
      {{"--resume", *dir_ + "/no-such-run"}, "no-such-run"},
  };
  for (auto& c : cases) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    if (std::find(c.args.begin(), c.args.end(), "--results") == c.args.end()) {
      args.push_back("--results");
      args.push_back(results_);
    }
    auto start_time = std::chrono::steady_clock::now();
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << c.names;
    EXPECT_THAT(r.err, HasSubstr(c.names));
    EXPECT_LT(std::chrono::steady_clock::now() - start_time, std::chrono::seconds(10));
    // Nothing ran: no run folder, no generated default model.
    if (fs::exists(results_)) {
      EXPECT_TRUE(fs::is_empty(results_)) << c.names;
    }
    EXPECT_FALSE(fs::exists(*dir_ + "/cache/models")) << c.names;
  }
}

TEST_F(RunE2E, EnvDescribesTheHost) {
  auto r = run({"env", "--json", "--model", model()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto env = nlohmann::json::parse(r.out);
  for (const char* key : {"kernel", "distribution", "cpu", "memory", "numa_nodes",
                          "transparent_hugepage", "cgroup", "tools", "faultline", "model"})
    EXPECT_TRUE(env.contains(key)) << key;
  EXPECT_GE(env["numa_nodes"].get<int>(), 1);
  EXPECT_TRUE(env["model"]["block_device"].contains("read_ahead_kb"));
  EXPECT_NE(env["faultline"]["git_commit"], "");
  // The running DAMON pageout schemes, one sentence each
  // (or why that is unknown): what this host runs (damon.h).
  EXPECT_EQ(env["damon_pageout"], damon_json(damon_pageout()));
  // What the llama.cpp presets' copy=repack copies on this CPU.
  EXPECT_EQ(env["cpu"]["llama_cpp_repack"], describe(host_repack_cpu()));
}

}  // namespace
}  // namespace faultline::harness
