// `faultline trace` end to end: the real executable, its exit codes, its
// summary and JSON, and that nothing stays attached however it ends.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/damon.h"
#include "harness/trace_command.h"
#include "tests/bpf/bpf_test_support.h"
#include "tests/support/as_if_sudo.h"

namespace faultline::testing {
namespace {

#ifndef FAULTLINE_EXE
#define FAULTLINE_EXE ""
#endif

#define SKIP_WITHOUT_FAULTLINE()                                                   \
  do {                                                                             \
    if (auto why = bpf_skip_reason()) GTEST_SKIP() << *why;                        \
    if (std::string(FAULTLINE_EXE).empty()) GTEST_SKIP() << "no faultline target"; \
  } while (0)

// `faultline trace ARGS...` in the background, stderr captured to a file.
class FaultlineTrace {
 public:
  explicit FaultlineTrace(std::vector<std::string> args) {
    char name[] = "/tmp/faultline-trace-stderr-XXXXXX";
    const int fd = mkstemp(name);
    stderr_path_ = name;
    args.insert(args.begin(), {FAULTLINE_EXE, "trace"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 2);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execv(argv[0], argv.data());
      _exit(99);
    }
    close(fd);
  }
  ~FaultlineTrace() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(stderr_path_.c_str());
  }
  pid_t pid() const { return pid_; }
  // Exit code (128 + signal when killed).
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Whether `text` shows up on its stderr within 10 s.
  bool wait_for_stderr(const std::string& text) const {
    for (int waited = 0; waited < 10000; waited += 20) {
      if (stderr_text().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::string stderr_text() const {
    std::ifstream in(stderr_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  std::string stderr_path_;
};

bool wait_for_links_above(std::uint32_t links, int timeout_ms = 10000) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (!bpf_link_ids(links).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(TraceCommand, NonexistentCommandFailsAndAttachesNothing) {
  SKIP_WITHOUT_FAULTLINE();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  FaultlineTrace run({"--", "/nonexistent/faultline-no-such-command", "x"});
  EXPECT_NE(run.wait(), 0);
  EXPECT_NE(run.stderr_text().find("cannot run"), std::string::npos) << run.stderr_text();
  EXPECT_TRUE(bpf_objects_gone(progs, links, 500));
}

TEST(TraceCommand, NonexistentPidFailsAndAttachesNothing) {
  SKIP_WITHOUT_FAULTLINE();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  FaultlineTrace run({"-p", "999999999", "--duration", "1s"});
  EXPECT_NE(run.wait(), 0);
  EXPECT_NE(run.stderr_text().find("no process with pid 999999999"), std::string::npos)
      << run.stderr_text();
  EXPECT_TRUE(bpf_objects_gone(progs, links, 500));
}

TEST(TraceCommand, SigintPrintsTheSummaryAndDetaches) {
  SKIP_WITHOUT_FAULTLINE();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  // The command starts only once every probe is attached: its marker file says
  // so (other BPF users on the machine could raise the link ids meanwhile).
  const std::string marker = "/tmp/faultline-trace-started-" + std::to_string(::getpid());
  ::unlink(marker.c_str());
  FaultlineTrace run({"--", "sh", "-c", "touch \"$0\"; sleep 2", marker});
  for (int i = 0; i < 500 && ::access(marker.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(::access(marker.c_str(), F_OK), 0) << "the traced command never started";
  ::unlink(marker.c_str());
  kill(run.pid(), SIGINT);
  EXPECT_EQ(run.wait(), 0);
  const std::string err = run.stderr_text();
  EXPECT_NE(err.find("page faults"), std::string::npos) << err;
  EXPECT_NE(err.find("stopped"), std::string::npos) << err;
  EXPECT_TRUE(bpf_objects_gone(progs, links));
}

TEST(TraceCommand, KilledCommandEndsTheTraceAndDetaches) {
  SKIP_WITHOUT_FAULTLINE();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  FaultlineTrace run({"--", "sh", "-c", "sleep 0.3; kill -9 $$"});
  EXPECT_EQ(run.wait(), 128 + SIGKILL);
  EXPECT_NE(run.stderr_text().find("exit status 137"), std::string::npos) << run.stderr_text();
  EXPECT_TRUE(bpf_objects_gone(progs, links));
}

TEST(TraceCommand, KillingFaultlineItselfLeavesNothingAttached) {
  SKIP_WITHOUT_FAULTLINE();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  FaultlineTrace run({"--", "sleep", "1"});
  ASSERT_TRUE(wait_for_links_above(links));
  kill(run.pid(), SIGKILL);
  EXPECT_EQ(run.wait(), 128 + SIGKILL);
  EXPECT_TRUE(bpf_objects_gone(progs, links));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // let `sleep 1` end
}

TEST(TraceCommand, TracesACommandReadingAFileAndWritesJson) {
  SKIP_WITHOUT_FAULTLINE();
  ColdFile file(32u << 20);
  const std::string json_path = file.path() + ".json";
  // --file right before "--": the command's own options must stay its own.
  FaultlineTrace run({"--json", json_path, "--timeline", "--file", file.path(), "--", "sh", "-c",
                      "cat \"$0\" > /dev/null", file.path()});
  ASSERT_EQ(run.wait(), 0) << run.stderr_text();
  std::ifstream in(json_path);
  const auto j = nlohmann::json::parse(in);
  unlink(json_path.c_str());
  const double pages = double(file.pages());
  EXPECT_NEAR(j["trace"]["pagecache"]["added_pages"].get<double>(), pages, 0.05 * pages);
  EXPECT_GT(
      j["trace"]["readahead"]["sync"].get<int>() + j["trace"]["readahead"]["async"].get<int>(), 0);
  EXPECT_EQ(j["trace"]["metrics"]["bpf_dropped"].get<double>(), 0.0);
  EXPECT_EQ(j["exit_status"].get<int>(), 0);
  ASSERT_TRUE(j.contains("timeline"));
  EXPECT_FALSE(j["timeline"].empty());
  EXPECT_TRUE(j["filter"].get<std::string>().rfind("cgroup ", 0) == 0) << j["filter"];
}

TEST(TraceCommand, EvictionsGetANoteWhenProactiveReclaimRuns) {
  SKIP_WITHOUT_FAULTLINE();
  // The command reads the file and then evicts it itself (dd's nocache is
  // POSIX_FADV_DONTNEED): the summary counts the evictions, and on a host
  // with a DAMON pageout scheme running (harness/damon.h) a note says it
  // may be one of the evictors; on a host without, nothing is said.
  ColdFile file(8u << 20);
  FaultlineTrace run({"--file", file.path(), "--", "sh", "-c",
                      "cat \"$0\" > /dev/null && dd if=\"$0\" iflag=nocache count=0 2>/dev/null",
                      file.path()});
  ASSERT_EQ(run.wait(), 0) << run.stderr_text();
  const std::string err = run.stderr_text();
  std::smatch evicted;
  ASSERT_TRUE(
      std::regex_search(err, evicted, std::regex(R"(page cache .*evicted ([1-9][0-9,]*) pages)")))
      << "the command's own evictions are counted: " << err;
  const bool noted =
      err.find("pages of the file were evicted while it ran, and proactive reclaim is on") !=
      std::string::npos;
  EXPECT_EQ(noted, !harness::damon_pageout().schemes.empty()) << err;
}

TEST(TraceCommand, TracesARunningPidForADuration) {
  SKIP_WITHOUT_FAULTLINE();
  ColdFile file(16u << 20);
  WorkerChild worker([&] {
    touch_file_pages(file.path(), MADV_RANDOM);
    pause();
  });
  const std::string json_path = file.path() + ".json";
  FaultlineTrace run({"-p", std::to_string(worker.pid()), "--file", file.path(), "--duration",
                      "1500ms", "--json", json_path});
  ASSERT_TRUE(run.wait_for_stderr("faultline trace: tracing ")) << run.stderr_text();
  worker.go();
  EXPECT_EQ(run.wait(), 0) << run.stderr_text();
  std::ifstream in(json_path);
  const auto j = nlohmann::json::parse(in);
  unlink(json_path.c_str());
  EXPECT_EQ(j["pids"][0].get<int>(), worker.pid());
  EXPECT_TRUE(j["interrupted"].get<bool>());
  EXPECT_GE(j["trace"]["faults"]["filemap"].get<double>(), 0.9 * double(file.pages()));
  EXPECT_FALSE(j["rss"]["samples"].empty());
}

using faultline::testing::AsIfSudo;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TraceCommand, UnderSudoTheCommandRunsAsTheUserAndIsStillTraced) {
  SKIP_WITHOUT_FAULTLINE();
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  constexpr uid_t kNobody = 65534;
  if (!::getpwuid(kNobody)) GTEST_SKIP() << "no user with uid 65534";
  ColdFile file(16u << 20);
  ASSERT_EQ(::chmod(file.path().c_str(), 0644), 0);
  std::string dir = "/var/tmp/faultline-trace-sudo-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  ASSERT_EQ(::chown(dir.c_str(), kNobody, kNobody), 0);  // the user's folder
  for (bool as_root : {false, true}) {
    const std::string uid_file = dir + "/uid", json_path = dir + "/trace.json";
    std::vector<std::string> args = {"--file", file.path(), "--json", json_path};
    if (as_root) args.push_back("--as-root");
    for (const char* a : {"--", "sh", "-c", "id -u > \"$0\"; cat \"$1\" > /dev/null"})
      args.push_back(a);
    args.push_back(uid_file);
    args.push_back(file.path());
    file.evict();
    int code;
    std::string err;
    {
      AsIfSudo sudo(kNobody);
      FaultlineTrace run(args);
      code = run.wait();
      err = run.stderr_text();
    }
    ASSERT_EQ(code, 0) << err;
    EXPECT_EQ(slurp(uid_file), as_root ? "0\n" : "65534\n") << err;
    struct stat st;
    ASSERT_EQ(::stat(json_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, as_root ? 0u : kNobody) << "--json is the user's file";
    const auto j = nlohmann::json::parse(slurp(json_path));
    const double pages = double(file.pages());
    EXPECT_NEAR(j["trace"]["pagecache"]["added_pages"].get<double>(), pages, 0.05 * pages)
        << "the user's command is still traced";
    EXPECT_TRUE(j.contains("not_measured"));
    EXPECT_FALSE(j["probes"].empty());
    ::unlink(uid_file.c_str());
    ::unlink(json_path.c_str());
  }
  ::rmdir(dir.c_str());
}

TEST(TraceCommand, ParsesDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(harness::parse_duration("10s"), milliseconds(10000));
  EXPECT_EQ(harness::parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(harness::parse_duration("1.5"), milliseconds(1500));
  EXPECT_EQ(harness::parse_duration("2m"), milliseconds(120000));
  EXPECT_FALSE(harness::parse_duration("soon"));
  EXPECT_FALSE(harness::parse_duration("-1s"));
  EXPECT_FALSE(harness::parse_duration(""));
}

}  // namespace
}  // namespace faultline::testing
