// How long a child lives (common/process.h): it dies with the process that
// started it, it does not run its program until released, and the interrupt
// handler (common/interrupt.h) kills the children it tracks.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/credentials.h"
#include "common/interrupt.h"
#include "common/process.h"
#include "tests/common/process_support.h"

namespace faultline {
namespace {

using testing::gone_within;
using testing::is_gone;

// Forks an intermediate that spawns `sleep 30` with `options`, reports its
// pid and exits at once. Returns the sleep's pid.
pid_t orphan_of_an_intermediate(SpawnOptions options) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  const pid_t middle = ::fork();
  if (middle == 0) {
    ::close(p[0]);
    options.argv = {"/bin/sleep", "30"};
    pid_t pid = -1;
    try {
      pid = spawn(options);
    } catch (...) {
    }
    (void)!::write(p[1], &pid, sizeof pid);
    ::_exit(0);
  }
  ::close(p[1]);
  pid_t pid = -1;
  EXPECT_EQ(::read(p[0], &pid, sizeof pid), ssize_t(sizeof pid));
  ::close(p[0]);
  int status;
  ::waitpid(middle, &status, 0);
  return pid;
}

TEST(ProcessLifetime, AChildDiesWithTheProcessThatStartedIt) {
  const pid_t pid = orphan_of_an_intermediate({});
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(gone_within(pid)) << "PR_SET_PDEATHSIG killed it with its parent";
  // Without the death signal it outlives the intermediate (the control).
  SpawnOptions survive;
  survive.die_with_parent = false;
  const pid_t other = orphan_of_an_intermediate(survive);
  ASSERT_GT(other, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(is_gone(other));
  ::kill(other, SIGKILL);
  EXPECT_TRUE(gone_within(other));
}

TEST(ProcessLifetime, AHeldChildRunsNothingUntilReleased) {
  const std::string marker = "/tmp/faultline-held-" + std::to_string(::getpid());
  ::unlink(marker.c_str());
  HeldChild child = spawn_held({{"/bin/sh", "-c", "echo ran > \"$0\"", marker}});
  ASSERT_TRUE(child.held());
  // Still our own program, held: not the shell, and the marker is not there.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(child.pid()) + "/exe"),
            std::filesystem::read_symlink("/proc/self/exe"));
  EXPECT_FALSE(std::filesystem::exists(marker));
  child.release();
  const ExitInfo e = wait_child(child.pid(), 30);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(marker)) << "released, it ran";
  ::unlink(marker.c_str());
}

TEST(ProcessLifetime, AHeldChildGivenUpNeverRunsAndIsReaped) {
  const std::string marker = "/tmp/faultline-abandoned-" + std::to_string(::getpid());
  ::unlink(marker.c_str());
  pid_t pid;
  {
    HeldChild child = spawn_held({{"/bin/sh", "-c", "echo ran > \"$0\"", marker}});
    pid = child.pid();
  }
  int status;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1) << "already reaped";
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(ProcessLifetime, AHeldChildWhoseExecFailsSaysSoOnRelease) {
  const std::string junk = "/tmp/faultline-held-junk-" + std::to_string(::getpid());
  { std::ofstream(junk) << "\x01\x02 not a program\n"; }
  ASSERT_EQ(::chmod(junk.c_str(), 0755), 0);
  HeldChild child = spawn_held({{junk}});
  const pid_t pid = child.pid();
  try {
    child.release();
    ADD_FAILURE() << "exec of junk succeeded";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.error, ENOEXEC);
    EXPECT_THAT(e.what(), ::testing::HasSubstr(junk));
  }
  int status;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1) << "reaped";
  ::unlink(junk.c_str());
}

// In a forked test process (the handler is process-wide): SIGTERM kills the
// tracked child and spares an untracked one. Exit 0 when all held.
TEST(ProcessLifetime, TheInterruptHandlerKillsTrackedChildren) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const pid_t tester = ::fork();
  if (tester == 0) {
    ::close(p[0]);
    install_interrupt_handlers();
    const pid_t tracked = spawn({{"/bin/sleep", "30"}});
    SpawnOptions untracked_options{{"/bin/sleep", "30"}};
    untracked_options.track = false;
    const pid_t untracked = spawn(untracked_options);
    ::raise(SIGTERM);
    int code = 0;
    if (pending_interrupt() != SIGTERM) code = 2;
    const ExitInfo e = wait_child(tracked, 30);  // killed by the handler already
    if (!e.interrupted || e.term_signal != SIGKILL) code = 3;
    if (::kill(untracked, 0) != 0) code = 4;  // still running
    (void)!::write(p[1], &untracked, sizeof untracked);
    kill_child(untracked);
    ::_exit(code);
  }
  ::close(p[1]);
  pid_t untracked = -1;
  EXPECT_EQ(::read(p[0], &untracked, sizeof untracked), ssize_t(sizeof untracked));
  ::close(p[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(tester, &status, 0), tester);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no signal recorded, 3: the tracked child lived on, "
                                       "4: the untracked one was killed";
  EXPECT_TRUE(gone_within(untracked));
}

TEST(ProcessLifetime, ACheckRunsInAChildAsTheUser) {
  EXPECT_EQ(call_in_child([] { return 7; }, nullptr), 7);
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become uid 65534";
  Credentials user;
  user.uid = user.gid = 65534;
  user.groups = {65534};
  user.name = "nobody";
  EXPECT_EQ(call_in_child([] { return int(::getuid() == 65534 && ::getgid() == 65534); }, &user),
            1);
}

}  // namespace
}  // namespace faultline
