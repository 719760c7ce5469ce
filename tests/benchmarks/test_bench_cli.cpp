// faultline-bench end to end: its Google Benchmark JSON and its --json, the
// meaning of Google Benchmark's own fields (cpu_time is the timed region's,
// every thread), every name it reports known to the schema, and one cold run
// per host (the host lock).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "common/host_lock.h"
#include "datasets/generator.h"
#include "schema/metrics.h"
#include "tests/support/capture.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

using ::testing::HasSubstr;
using testing::TempFile;

constexpr std::uint64_t kSize = 64ull << 20;

std::string bench() {
  return FAULTLINE_BENCH;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json run_json(const std::string& args, const std::string& json_path) {
  auto r = testing::capture(bench() + " " + args + " --benchmark_format=json --json " + json_path +
                            " 2>/dev/null");
  EXPECT_EQ(r.status, 0) << args;
  return r.status == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

class BenchCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { file_ = new TempFile(kSize, 21); }
  static void TearDownTestSuite() { delete file_; }
  static TempFile* file_;
  std::string json_ = "/var/tmp/faultline-test-bench-" + std::to_string(::getpid()) + ".json";
  void TearDown() override { ::unlink(json_.c_str()); }
};
TempFile* BenchCliTest::file_ = nullptr;

// One cell selected by filter, JSON counters with the schema's names.
TEST_F(BenchCliTest, ReportsCountersAsJson) {
  auto j =
      run_json("--model " + file_->path() +
                   " --strategies read,mmap:private,populate --patterns none --cache warm"
                   " --iterations 1 --benchmark_filter='^load/mmap:private,populate/none/warm/'",
               json_);
  ASSERT_EQ(j["benchmarks"].size(), 1u);
  const auto& b = j["benchmarks"][0];
  // Google Benchmark appends its own suffixes (iterations, process CPU, manual time).
  EXPECT_EQ(b["name"],
            "load/mmap:private,populate/none/warm/iterations:1/process_time/manual_time");
  EXPECT_GE(b["rss_file_bytes"].get<double>(), 0.95 * kSize);
  EXPECT_TRUE(b.contains("ready_ms"));
  EXPECT_FALSE(b.contains("bytes_per_second")) << "pattern none touches no bytes";
  EXPECT_EQ(j["context"]["faultline_model"], file_->path());
}

// --trace where the tracer cannot run (unprivileged, or a build without
// bpf/: -DFAULTLINE_SKIP_BPF=ON): the cells run untraced and every bpf_*
// metric is either measured or not measured with the reason, never 0.
TEST_F(BenchCliTest, TraceMeasuresEveryBpfMetricOrSaysWhyNot) {
  auto j = run_json("--model " + file_->path() +
                        " --strategies read --patterns forward --cache warm --iterations 1 --trace",
                    json_);
  const std::string trace = j["context"].value("faultline_trace", "");
  const auto cells = nlohmann::json::parse(slurp(json_))["cells"];
  ASSERT_EQ(cells.size(), 1u);
  const auto& c = cells[0];
  for (const auto& m : metric::kAll) {
    if (!m.family.starts_with("bpf_")) continue;
    const std::string name(m.name);
    if (trace == "on") {
      EXPECT_TRUE(c["metrics"].contains(name) || c["not_measured"].contains(name)) << name;
    } else {
      EXPECT_FALSE(c["metrics"].contains(name)) << name;
      EXPECT_EQ(c["not_measured"].value(name, ""), trace) << name;
      EXPECT_THAT(trace, ::testing::StartsWith("tracing unavailable: "));
    }
  }
}

// Google Benchmark's cpu_time is the process's CPU over the timed regions
// only (MeasureProcessCPUTime, paused for eviction, warming, checks and
// unmapping): it agrees with task_clock_ms, where before the warming read of
// a warm cell after a cold one, the evictions, and other threads' CPU (pread)
// made them disagree. bytes_per_second is touched_bytes over the time.
TEST_F(BenchCliTest, CpuTimeIsTheTimedRegionsOfEveryThread) {
  auto j = run_json("--model " + file_->path() +
                        " --strategies mmap:private,read,pread:threads=4 --patterns none,sequential"
                        " --cache cold,warm --iterations 3",
                    json_);
  ASSERT_EQ(j["benchmarks"].size(), 12u);
  for (const auto& b : j["benchmarks"]) {
    SCOPED_TRACE(b["name"].get<std::string>());
    ASSERT_EQ(b["time_unit"], "ms");
    const double cpu = b["cpu_time"].get<double>(), task = b["task_clock_ms"].get<double>();
    std::printf("[ note ] %s: cpu_time %.2f ms, task_clock_ms %.2f\n",
                b["name"].get<std::string>().c_str(), cpu, task);
    // Eviction, warming or checks in cpu_time would push it above (by up
    // to the warming read of the file); the calling thread's CPU alone below
    // (pread). perf's task-clock runs ahead of the scheduler's CPU time when
    // other processes preempt the load (seen up to 40 % on the test VM),
    // hence the wider margin below.
    EXPECT_LE(cpu, 1.2 * task + 2.0);
    EXPECT_GE(cpu, 0.6 * task - 2.0);
    if (b["name"].get<std::string>().find("/sequential/") != std::string::npos) {
      // real_time is the mean timed region, so bytes per second = touched / real_time.
      EXPECT_NEAR(b["bytes_per_second"].get<double>(),
                  b["touched_bytes"].get<double>() / (b["real_time"].get<double>() / 1e3),
                  1e-6 * b["bytes_per_second"].get<double>());
    }
  }
}

// Every counter in Google Benchmark's JSON and every metric and not-measured
// name in --json is a schema name, and no metric is both measured and not.
TEST_F(BenchCliTest, EveryNameIsInTheSchema) {
  GenOptions g;
  g.size = 8ull << 20;
  g.experts = 4;
  g.seed = 3;
  g.out = "/var/tmp/faultline-test-bench-moe-" + std::to_string(::getpid()) + ".gguf";
  ASSERT_NO_THROW(generate_model(g));
  auto j = run_json("--model " + g.out +
                        " --strategies read,pread:threads=2,uring:qd=4,direct:qd=4,mmap:private,"
                        "mmap:private,advise=random,mmap:shared,populate"
                        " --patterns none,first-layer,forward,sequential,random:64,moe:1/4"
                        " --cache cold,warm --iterations 1 --touch-latency"
                        " --perf-events page-faults,cycles",
                    json_);
  const std::set<std::string> google = {"name",
                                        "family_index",
                                        "per_family_instance_index",
                                        "run_name",
                                        "run_type",
                                        "repetitions",
                                        "repetition_index",
                                        "threads",
                                        "iterations",
                                        "real_time",
                                        "cpu_time",
                                        "time_unit",
                                        "bytes_per_second",
                                        "items_per_second",
                                        "label",
                                        "error_occurred",
                                        "error_message",
                                        "aggregate_name",
                                        "aggregate_unit"};
  ASSERT_EQ(j["benchmarks"].size(), 7u * 6 * 2);
  for (const auto& b : j["benchmarks"])
    for (const auto& [key, value] : b.items())
      if (!google.count(key)) {
        EXPECT_NE(metric::find(key), nullptr) << b["name"] << ": counter " << key;
      }
  const auto cells = nlohmann::json::parse(slurp(json_))["cells"];
  ASSERT_EQ(cells.size(), 7u * 6 * 2);
  for (const auto& c : cells) {
    SCOPED_TRACE(c["cell"].get<std::string>());
    EXPECT_TRUE(c["error"].is_null()) << c["error"];
    for (const auto& [name, v] : c["metrics"].items()) {
      EXPECT_NE(metric::find(name), nullptr) << "metric " << name;
      EXPECT_FALSE(c["not_measured"].contains(name)) << name << " measured and not measured";
    }
    for (const auto& [name, why] : c["not_measured"].items()) {
      EXPECT_NE(metric::find(name), nullptr) << "not measured " << name;
      EXPECT_FALSE(why.get<std::string>().empty()) << name;
    }
    EXPECT_THAT(c["probes"], ::testing::Contains("clock"));
    const bool none = c["cell"].get<std::string>().find("/none/") != std::string::npos;
    EXPECT_EQ(c.contains("touch_latency_ns"), !none);
    if (!none) {
      EXPECT_EQ(c["touch_latency_ns"]["scale"], "log2");
      std::uint64_t sum = 0;
      for (const auto& slot : c["touch_latency_ns"]["slots"]) sum += slot.get<std::uint64_t>();
      EXPECT_EQ(sum, c["touch_latency_ns"]["count"].get<std::uint64_t>());
      EXPECT_EQ(double(sum) * 4096, c["metrics"]["touched_bytes"].get<double>())
          << "one sample per page touched (the test model is page-aligned)";
    }
  }
  ::unlink(g.out.c_str());
}

// A command started in the background with its stderr in a file.
struct Background {
  pid_t pid = -1;
  std::string err;
  Background(const std::string& command, const std::string& err_path) : err(err_path) {
    pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", (command + " >" + err_path + " 2>&1").c_str(), nullptr);
      std::_Exit(127);
    }
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  ~Background() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait();
    }
    ::unlink(err.c_str());
  }
};

// Removes a file when the test ends, however it ends.
struct Removed {
  std::string path;
  ~Removed() { ::unlink(path.c_str()); }
};

// Waits up to 60 s for `text` in the file while `pid` runs.
bool eventually_contains(const std::string& path, const std::string& text, pid_t pid) {
  for (int i = 0; i < 600; ++i) {
    if (slurp(path).find(text) != std::string::npos) return true;
    siginfo_t info{};  // exited? (WNOWAIT: still to be reaped by Background::wait)
    if (::waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
      return slurp(path).find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Two cold faultline-bench at once: the second waits for the first, saying
// who holds the lock (or with --no-wait exits 3 naming it).
TEST_F(BenchCliTest, OneColdRunPerHost) {
  const std::string tag = "/var/tmp/faultline-test-lock-" + std::to_string(::getpid());
  const Removed lock_file{tag + ".lock"};
  const std::string env = "env -u FAULTLINE_HOST_LOCK FAULTLINE_LOCK_FILE=" + tag + ".lock ";
  const std::string cold =
      " --model " + file_->path() + " --strategies read --patterns none --cache cold --iterations ";
  // The first: many cold iterations, holding the lock until killed.
  Background first("exec " + env + bench() + cold + "100000", tag + ".first");
  // It holds the lock once its description is in the lock file.
  bool held = false;
  for (int i = 0; i < 600 && !held; ++i) {
    held = slurp(tag + ".lock").find("pid " + std::to_string(first.pid)) != std::string::npos;
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(held) << "the first run never took the lock";
  // --no-wait: refused at once, exit 3, naming the holder.
  auto refused = testing::capture(env + bench() + cold + "1 --no-wait 2>&1 >/dev/null");
  EXPECT_TRUE(WIFEXITED(refused.status) && WEXITSTATUS(refused.status) == 3) << refused.status;
  EXPECT_THAT(refused.out, HasSubstr("pid " + std::to_string(first.pid)));
  // The second waits, naming the first; it runs once the first is gone.
  Background second(env + bench() + cold + "1", tag + ".second");
  ASSERT_TRUE(eventually_contains(tag + ".second", "waiting for the host lock", second.pid))
      << slurp(tag + ".second") << "\nthe first run:\n"
      << slurp(tag + ".first");
  EXPECT_THAT(slurp(tag + ".second"), HasSubstr("pid " + std::to_string(first.pid)));
  ::kill(first.pid, SIGTERM);
  first.wait();
  const int status = second.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(tag + ".second");
}

// A child of the lock holder (FAULTLINE_HOST_LOCK=held, which the holder
// sets) runs its cold cells without locking again. The holder here is this
// test, which measures nothing meanwhile (a cold run of a child beside a cold
// run of another bench made that one's eviction fail now and then here: one
// cold run at a time is the point of the lock).
TEST_F(BenchCliTest, ChildrenOfTheHolderDoNotLockAgain) {
  const std::string lock = "/var/tmp/faultline-test-held-" + std::to_string(::getpid());
  const Removed lock_file{lock};
  ::setenv("FAULTLINE_LOCK_FILE", lock.c_str(), 1);
  {
    HostLock holder(HostLock::Options{"test_bench_cli (the parent)", false, {}, {}});
    ASSERT_TRUE(holder.held());
    const std::string cold = bench() + " --model " + file_->path() +
                             " --strategies read --patterns none --cache cold --iterations 1"
                             " --no-wait 2>&1 >/dev/null";
    auto child = testing::capture(cold);  // FAULTLINE_HOST_LOCK=held: set by the holder
    EXPECT_EQ(child.status, 0) << child.out;
    auto stranger = testing::capture("env -u FAULTLINE_HOST_LOCK " + cold);
    EXPECT_TRUE(WIFEXITED(stranger.status) && WEXITSTATUS(stranger.status) == 3) << stranger.out;
    EXPECT_THAT(stranger.out, HasSubstr("test_bench_cli (the parent)"));
  }
  ::unsetenv("FAULTLINE_LOCK_FILE");
}

// Warm cells only: no lock taken.
TEST_F(BenchCliTest, WarmRunsDoNotLock) {
  const std::string lock = "/var/tmp/faultline-test-nolock-" + std::to_string(::getpid());
  auto r = testing::capture("env -u FAULTLINE_HOST_LOCK FAULTLINE_LOCK_FILE=" + lock + " " +
                            bench() + " --model " + file_->path() +
                            " --strategies read --patterns none --cache warm --iterations 1"
                            " >/dev/null 2>&1");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(::access(lock.c_str(), F_OK), 0) << "a warm-only run created the lock file";
  ::unlink(lock.c_str());
}

// One name per concept: --reps (the name faultline run uses) and the older
// --iterations are one option; --strategy, --pattern and --caches are
// aliases of --strategies, --patterns and --cache.
TEST_F(BenchCliTest, RepsAndIterationsAreOneOption) {
  const std::string cell = "--model " + file_->path() + " --patterns none --cache warm";
  auto reps = run_json(cell + " --strategies read --reps 2", json_);
  auto iterations = run_json(cell + " --strategy read --iterations 2", json_);
  ASSERT_EQ(reps["benchmarks"].size(), 1u);
  ASSERT_EQ(iterations["benchmarks"].size(), 1u);
  EXPECT_EQ(reps["benchmarks"][0]["iterations"], 2);
  EXPECT_EQ(iterations["benchmarks"][0]["iterations"], 2);
  EXPECT_EQ(reps["benchmarks"][0]["name"], iterations["benchmarks"][0]["name"]);
  const std::string list = " --benchmark_list_tests 2>/dev/null";
  auto plural = testing::capture(bench() + " --model " + file_->path() +
                                 " --strategies read,mmap:private --patterns none,forward "
                                 "--cache warm" +
                                 list);
  auto singular = testing::capture(bench() + " --model " + file_->path() +
                                   " --strategy read,mmap:private --pattern none,forward "
                                   "--caches warm" +
                                   list);
  EXPECT_EQ(plural.status, 0);
  EXPECT_EQ(singular.out, plural.out);
  EXPECT_THAT(plural.out, HasSubstr("load/mmap:private/forward/warm"));
}

// -q: no table on stdout, the results still in --json FILE.
TEST_F(BenchCliTest, QuietStillWritesJson) {
  auto r = testing::capture(bench() + " -q --model " + file_->path() +
                            " --strategies read --patterns none --cache warm --reps 1 --json " +
                            json_ + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  auto j = nlohmann::json::parse(slurp(json_));
  ASSERT_TRUE(j.contains("cells")) << j.dump();
  EXPECT_EQ(j["cells"].size(), 1u);
}

}  // namespace
}  // namespace faultline
