// `faultline run`'s exit status (0 only when every cell is ok or expected and
// the report was written; 1 otherwise, with the count on the last line; 2
// bad arguments; 128 + signal interrupted) and the host lock (one measuring
// run per host: a second waits naming the first, or refuses with --no-wait;
// a lock left by a killed run is taken over; an interrupt while waiting
// leaves no run folder). Fake benches are shell scripts written here.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "common/host_lock.h"
#include "harness/runs_schema.h"
#include "tests/harness/run_helpers.h"
#include "tests/harness/suite_folder.h"

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::finish_faultline;
using ::testing::HasSubstr;
using testing::read_rows;
using testing::run_faultline;
using testing::ScopedEnv;
using testing::slurp;
using testing::start_faultline;

class RunExitStatus : public testing::RunSuite<RunExitStatus> {
 public:
  static constexpr const char* kFolderPrefix = "faultline-exit-test";
  static constexpr std::uint64_t kModelBytes = 16ull << 20;
  static constexpr std::uint64_t kSeed = 3;

 protected:
  std::vector<std::string> args(std::vector<std::string> extra, const std::string& results) {
    std::vector<std::string> a = {"run",   "--model",          model(),  "--patterns",
                                  "none",  "--reps",           "1",      "--results",
                                  results, "--no-calibration", "--quiet"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

TEST_F(RunExitStatus, FailedCellsExitOneAfterWritingEverything) {
  const std::string env_file = *dir_ + "/bench-env";
  ScopedEnv bench("FAULTLINE_BENCH",
                  testing::fake_bench(*dir_, "failing-bench", "env > " + env_file + "\nexit 3"));
  auto r = run_faultline(args({"--strategies", "read,mmap:private", "--cache", "cold"}, results_),
                         results_);
  EXPECT_EQ(r.code, 1) << r.err;
  auto folders = run_folders(results_);
  ASSERT_EQ(folders.size(), 1u);
  auto rows = read_rows(folders[0]);
  ASSERT_GE(rows.size(), 2u);  // every cell recorded (plus traced reps when root)
  for (const auto& row : rows) {
    EXPECT_THAT(runs::validate(row), ::testing::IsEmpty());
    EXPECT_EQ(row["status"], "failed");
  }
  EXPECT_THAT(
      r.last_line(),
      HasSubstr(fmt::format("faultline run: {0} of {0} cells not ok ({0} failed)", rows.size())));
  EXPECT_THAT(r.last_line(), HasSubstr("report"));
  // The bench ran covered by the run's host lock (spawn passes the environment on).
  EXPECT_THAT(slurp(env_file), HasSubstr("FAULTLINE_HOST_LOCK=held"));
}

TEST_F(RunExitStatus, ATimedOutCellExitsOne) {
  ScopedEnv bench("FAULTLINE_BENCH", testing::fake_bench(*dir_, "slow-bench", "exec sleep 30"));
  auto r = run_faultline(
      args({"--strategies", "read", "--cache", "warm", "--traced-reps", "0", "--cell-timeout", "1"},
           results_),
      results_);
  EXPECT_EQ(r.code, 1) << r.err;
  auto rows = read_rows(run_folders(results_).at(0));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "timeout");
  EXPECT_THAT(r.last_line(), HasSubstr("1 of 1 cells not ok (1 timeout)"));
}

TEST_F(RunExitStatus, AReportNotWrittenExitsOne) {
  ScopedEnv analysis("FAULTLINE_ANALYSIS_DIR", *dir_ + "/no-analysis-here");
  auto r = run_faultline(
      args({"--strategies", "read", "--cache", "warm", "--traced-reps", "0"}, results_), results_);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(read_rows(run_folders(results_).at(0)).at(0)["status"], "ok");
  EXPECT_THAT(r.last_line(), HasSubstr("all 1 cells ok; report not written"));
}

TEST_F(RunExitStatus, EveryCellOkAndTheReportWrittenExitsZero) {
  auto r = run_faultline(args({"--strategies", "read", "--cache", "warm"}, results_), results_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.last_line(), HasSubstr("report.html"));
}

TEST_F(RunExitStatus, BadArgumentsExitTwo) {
  auto r = run_faultline(args({"--strategies", "mmap:sideways"}, results_), results_);
  EXPECT_EQ(r.code, 2) << r.err;
  auto resume = run_faultline({"run", "--resume", results_, "--reps", "2"}, results_ + "-resume");
  EXPECT_EQ(resume.code, 2) << resume.err;
  EXPECT_FALSE(fs::exists(results_));
}

// Polls until `ready` holds or `limit` passes.
template <class F>
bool eventually(F ready, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(RunExitStatus, OneMeasuringRunPerHost) {
  // A lock of this test's own, so that other runs on the machine do not count.
  ScopedEnv lock_file("FAULTLINE_LOCK_FILE", *dir_ + "/host.lock");
  // A: holds the lock while its one cell sleeps.
  pid_t a = [&] {
    ScopedEnv bench("FAULTLINE_BENCH",
                    testing::fake_bench(*dir_, "sleeping-bench", "exec sleep 60"));
    return start_faultline(args({"--strategies", "read", "--cache", "warm", "--traced-reps", "0",
                                 "--cell-timeout", "120"},
                                results_ + "-a"),
                           results_ + "-a");
  }();
  ASSERT_TRUE(eventually([&] {
    return HostLock::holder().value_or("").find(results_ + "-a/") != std::string::npos;
  })) << HostLock::holder().value_or("(not held)");
  const std::string a_pid = "pid " + std::to_string(a);

  // B, --no-wait: refuses at once, naming A (pid and run folder); no run folder.
  auto b =
      run_faultline(args({"--strategies", "read", "--cache", "warm", "--no-wait"}, results_ + "-b"),
                    results_ + "-b");
  EXPECT_EQ(b.code, 1) << b.err;
  EXPECT_THAT(b.err, HasSubstr(a_pid));
  EXPECT_THAT(b.err, HasSubstr(results_ + "-a/"));
  EXPECT_TRUE(run_folders(results_ + "-b").empty());

  // C waits, saying for whom; interrupted while waiting: 128 + SIGINT, nothing created.
  pid_t c = start_faultline(args({"--strategies", "read", "--cache", "warm"}, results_ + "-c"),
                            results_ + "-c");
  EXPECT_TRUE(eventually([&] {
    return slurp(results_ + "-c.err").find("waiting for the host lock") != std::string::npos;
  }));
  EXPECT_THAT(slurp(results_ + "-c.err"), HasSubstr(a_pid));
  ::kill(c, SIGINT);
  auto cr = finish_faultline(c, results_ + "-c");
  EXPECT_EQ(cr.code, 128 + SIGINT) << cr.err;
  EXPECT_TRUE(run_folders(results_ + "-c").empty());

  // A is killed (SIGKILL: no cleanup of its own); the next run takes the lock over.
  ::kill(a, SIGKILL);
  finish_faultline(a, results_ + "-a");
  auto d =
      run_faultline(args({"--strategies", "read", "--cache", "warm", "--no-wait"}, results_ + "-d"),
                    results_ + "-d");
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(run_folders(results_ + "-d").size(), 1u);
  EXPECT_FALSE(HostLock::holder().has_value());
}

}  // namespace
}  // namespace faultline::harness
