// One measuring run per host: the lock excludes a second holder, names the
// first one to whoever waits or refuses, is taken over when its holder dies,
// and is not taken again by the children of its holder.
#include "common/host_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faultline {
namespace {

class HostLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("faultline-lock-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ::setenv("FAULTLINE_LOCK_FILE", (dir_ / "faultline.lock").c_str(), 1);
    ::unsetenv(kHostLockHeldEnv);
  }
  void TearDown() override {
    ::unsetenv("FAULTLINE_LOCK_FILE");
    ::unsetenv(kHostLockHeldEnv);
    std::filesystem::remove_all(dir_);
  }
  // A child that takes the lock, says so through a pipe, and holds it until killed.
  pid_t holder_child(const std::string& what) {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      HostLock lock({what, false, {}, {}});
      (void)!::write(p[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    ::close(p[1]);
    char c;
    EXPECT_EQ(::read(p[0], &c, 1), 1);
    ::close(p[0]);
    return pid;
  }
  std::filesystem::path dir_;
};

TEST_F(HostLockTest, SecondHolderIsRefusedWithTheFirstNamed) {
  const pid_t first = holder_child("faultline run (results/A)");
  EXPECT_THAT(HostLock::holder().value_or(""), ::testing::HasSubstr("faultline run (results/A)"));
  try {
    HostLock second({"second", false, {}, {}});
    ADD_FAILURE() << "a second holder got the lock";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("results/A"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr(std::to_string(first)));
  }
  ::kill(first, SIGKILL);  // a killed holder: the kernel releases its flock
  ::waitpid(first, nullptr, 0);
  EXPECT_FALSE(HostLock::holder().has_value());
  HostLock third({"third", false, {}, {}});
  EXPECT_TRUE(third.held());
  EXPECT_THAT(HostLock::holder().value_or(""), ::testing::HasSubstr("third"));
}

TEST_F(HostLockTest, WaiterIsToldWhoHoldsItAndGetsItWhenReleased) {
  const pid_t first = holder_child("the first run");
  std::string told;
  int polls = 0;
  HostLock waiter({"waiter", true, [&](const std::string& who) { told = who; },
                   [&] {
                     if (++polls == 3) ::kill(first, SIGKILL);
                     return polls > 100;
                   }});
  ::waitpid(first, nullptr, 0);
  EXPECT_TRUE(waiter.held());
  EXPECT_THAT(told, ::testing::HasSubstr("the first run"));
}

TEST_F(HostLockTest, ChildrenOfTheHolderDoNotLockAgain) {
  HostLock lock({"parent", false, {}, {}});
  ASSERT_STREQ(std::getenv(kHostLockHeldEnv), "held");
  const pid_t pid = ::fork();
  if (pid == 0) {
    HostLock child({"child", false, {}, {}});  // would throw if it tried
    ::_exit(child.held() ? 1 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace faultline
