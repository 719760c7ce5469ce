// The process module (common/process.h): the child's credentials and
// descriptors as the kernel shows them, exec failures, timeouts, the death
// signal, holding before exec and interrupts. Physical facts (ids, open fds,
// pids gone), with only generous "did not hang" bounds on time.
#include "common/process.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/credentials.h"
#include "common/interrupt.h"
#include "tests/common/process_support.h"

namespace faultline {
namespace {

using testing::gone_within;
using testing::status_field;

constexpr uid_t kNobody = 65534;

Credentials nobody(bool ipc_lock) {
  Credentials c;
  c.uid = kNobody;
  c.gid = kNobody;
  c.groups = {kNobody};
  c.name = "nobody";
  c.ipc_lock = ipc_lock;
  return c;
}

bool have_cap_ipc_lock() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  return ::syscall(SYS_capget, &header, data) == 0 &&
         (data[0].permitted & (1u << CAP_IPC_LOCK)) != 0;
}

std::string cat_status_as(const Credentials& user, bool keep_ipc_lock) {
  SpawnOptions s;
  s.argv = {"/bin/cat", "/proc/self/status"};
  s.as_user = &user;
  s.keep_ipc_lock = keep_ipc_lock;
  Captured c = capture(s);
  EXPECT_TRUE(c.ok()) << c.error;
  return c.out;
}

TEST(Process, AsAnotherUserTheChildHasOnlyItsIdsAndNoCapability) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become uid 65534";
  const Credentials user = nobody(/*ipc_lock=*/have_cap_ipc_lock());
  const std::string status = cat_status_as(user, /*keep_ipc_lock=*/false);
  const std::string n = std::to_string(kNobody);
  EXPECT_EQ(status_field(status, "Uid"), n + "\t" + n + "\t" + n + "\t" + n);
  EXPECT_EQ(status_field(status, "Gid"), n + "\t" + n + "\t" + n + "\t" + n);
  EXPECT_EQ(status_field(status, "Groups"), n);
  for (const char* caps : {"CapEff", "CapPrm", "CapInh", "CapAmb"})
    EXPECT_EQ(status_field(status, caps), "0000000000000000") << caps;
}

TEST(Process, KeepingCapIpcLockLeavesExactlyThatCapability) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become uid 65534";
  if (!have_cap_ipc_lock()) GTEST_SKIP() << "CAP_IPC_LOCK is not in our permitted set";
  const std::string status = cat_status_as(nobody(true), /*keep_ipc_lock=*/true);
  EXPECT_EQ(status_field(status, "Uid").substr(0, 5), std::to_string(kNobody));
  for (const char* caps : {"CapEff", "CapPrm", "CapInh", "CapAmb"})
    EXPECT_EQ(status_field(status, caps), "0000000000004000") << caps;  // bit 14
}

// `ls -l /proc/self/fd` in the child: fd number -> target, without ls's own
// handle on the folder it lists.
std::map<int, std::string> child_fds(SpawnOptions s) {
  s.argv = {"/bin/ls", "-l", "/proc/self/fd"};
  Captured c = capture(s);
  EXPECT_TRUE(c.ok()) << c.error;
  std::map<int, std::string> fds;
  const std::regex line(R"((\d+) -> (.*))");
  const std::regex own_listing(R"(/proc/\d+/fd)");
  std::istringstream in(c.out);
  std::string l;
  std::smatch m;
  while (std::getline(in, l))
    if (std::regex_search(l, m, line) && !std::regex_match(m[2].str(), own_listing))
      fds[std::stoi(m[1].str())] = m[2].str();
  return fds;
}

TEST(Process, OnlyTheRequestedDescriptorsReachTheChild) {
  // A descriptor of ours without close-on-exec (as a parent shell may leave
  // one): it must not reach the child.
  const int leaked = ::open("/dev/zero", O_RDONLY);
  ASSERT_GE(leaked, 0);
  ASSERT_GE(::dup2(leaked, 40), 0);
  const std::string file = "/tmp/faultline-process-fd-" + std::to_string(::getpid());
  const int passed = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(passed, 0);
  SpawnOptions s;
  s.fds = {{passed, 7}, {leaked, 5}};
  const auto fds = child_fds(s);
  std::set<int> numbers;
  for (const auto& [fd, target] : fds) numbers.insert(fd);
  EXPECT_EQ(numbers, (std::set<int>{0, 1, 2, 5, 7}));
  EXPECT_EQ(fds.at(0), "/dev/null");
  EXPECT_EQ(fds.at(2), "/dev/null");
  EXPECT_EQ(fds.at(1).rfind("pipe:", 0), 0u) << fds.at(1);
  EXPECT_EQ(fds.at(5), "/dev/zero");
  EXPECT_EQ(fds.at(7), file);
  // Nothing asked for: 0, 1, 2 alone.
  numbers.clear();
  for (const auto& [fd, target] : child_fds({})) numbers.insert(fd);
  EXPECT_EQ(numbers, (std::set<int>{0, 1, 2}));
  ::close(leaked);
  ::close(40);
  ::close(passed);
  ::unlink(file.c_str());
}

bool no_children_left() {
  int status;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

TEST(Process, AMissingProgramIsNamedAndLeavesNoChild) {
  const std::string missing = "/nonexistent/faultline-no-such-program";
  try {
    spawn({{missing, "x"}});
    ADD_FAILURE() << "spawned a missing program";
  } catch (const SpawnError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(missing));
    EXPECT_EQ(e.error, ENOENT);
  }
  EXPECT_THAT(capture({{missing}}).error, ::testing::HasSubstr(missing));
  EXPECT_FALSE(capture_output({missing}));
  EXPECT_TRUE(no_children_left());
}

TEST(Process, AnExecThatFailsInTheChildIsReportedAndReaped) {
  // Executable bits, but no format the kernel can run: execv says ENOEXEC.
  const std::string junk = "/tmp/faultline-process-junk-" + std::to_string(::getpid());
  { std::ofstream(junk) << "\x01\x02 not a program\n"; }
  ASSERT_EQ(::chmod(junk.c_str(), 0755), 0);
  try {
    spawn({{junk}});
    ADD_FAILURE() << "exec of junk succeeded";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.step, SpawnError::Step::exec);
    EXPECT_EQ(e.error, ENOEXEC);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot run " + junk));
  }
  EXPECT_TRUE(no_children_left()) << "the failed child is reaped";
  ::unlink(junk.c_str());
}

TEST(Process, PastItsTimeoutAChildIsKilledAndReaped) {
  const pid_t pid = spawn({{"/bin/sleep", "30"}});
  const ExitInfo e = wait_child(pid, 0.3);
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.term_signal, SIGKILL);
  EXPECT_EQ(e.killed_with, SIGKILL);
  EXPECT_LT(e.wall_s, 5.0) << "did not hang";
  EXPECT_TRUE(no_children_left());
}

TEST(Process, AGracePeriodGivesSigtermFirstThenSigkill) {
  WaitOptions w;
  w.timeout_s = 0.3;
  w.grace_s = 5;
  ExitInfo e = wait_child(spawn({{"/bin/sleep", "30"}}), w);
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.term_signal, SIGTERM) << "sleep obeys SIGTERM";
  EXPECT_EQ(e.killed_with, SIGTERM);
  // One that ignores SIGTERM gets SIGKILL after the grace period.
  w.grace_s = 0.3;
  const pid_t pid = spawn({{"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"}});
  e = wait_child(pid, w);
  ::kill(-pid, SIGKILL);  // its last sleep, if any
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.term_signal, SIGKILL);
  EXPECT_EQ(e.killed_with, SIGKILL);
  EXPECT_LT(e.wall_s, 10.0) << "did not hang";
}

TEST(Process, EnvironmentIsOursOrExactlyTheOneGiven) {
  ::setenv("FAULTLINE_PROCESS_TEST", "inherited", 1);
  Captured c = capture({{"/usr/bin/env"}});
  EXPECT_THAT(c.out, ::testing::HasSubstr("FAULTLINE_PROCESS_TEST=inherited\n"));
  SpawnOptions s{{"/usr/bin/env"}};
  s.env = std::vector<std::string>{"ONLY=this"};
  EXPECT_EQ(capture(s).out, "ONLY=this\n");
  ::unsetenv("FAULTLINE_PROCESS_TEST");
}

TEST(Process, StderrIsCapturedApartWhenAsked) {
  CaptureOptions o;
  o.capture_stderr = true;
  Captured c = capture({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}}, o);
  EXPECT_EQ(c.out, "out\n");
  EXPECT_EQ(c.err, "err\n");
  EXPECT_EQ(c.exit.exit_code, 3);
  EXPECT_FALSE(c.ok());
}

// The grandchild a shell leaves behind, in the child's process group.
void expect_and_kill_grandchildren(pid_t child, bool holds_stdout) {
  const auto left = testing::processes_in_group(child);
  ASSERT_FALSE(left.empty()) << "the grandchild was meant to outlive its parent";
  for (pid_t gc : left) {
    if (holds_stdout) {
      EXPECT_EQ(testing::fd_target(gc, 1).rfind("pipe:", 0), 0u)
          << "the grandchild holds the captured stdout";
    }
    ::kill(gc, SIGKILL);
  }
  for (pid_t gc : left) EXPECT_TRUE(gone_within(gc));
}

TEST(Process, CaptureReturnsWhenTheChildExitsThoughADaemonLingers) {
  for (const bool holds : {false, true}) {
    SCOPED_TRACE(holds ? "grandchild keeps stdout" : "grandchild detached");
    const std::string script =
        holds ? "(sleep 30 &) ; echo ready" : "sleep 30 >/dev/null 2>&1 </dev/null & echo ready";
    CaptureOptions o;
    o.timeout_s = 60;
    Captured c = capture({{"/bin/sh", "-c", script}}, o);
    EXPECT_TRUE(c.ok()) << c.error;
    EXPECT_EQ(c.out, "ready\n");
    EXPECT_FALSE(c.exit.timed_out);
    EXPECT_LT(c.exit.wall_s, 20.0) << "did not wait for the grandchild";
    // The child's pid names its process group (own_process_group).
    ASSERT_GT(c.pid, 0);
    expect_and_kill_grandchildren(c.pid, holds);
  }
}

}  // namespace
}  // namespace faultline
