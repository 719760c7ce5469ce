// The cgroup module (common/cgroup.h): an identity cgroup names a process and
// its children in the v2 hierarchy, removal kills or moves out what is still
// inside, and cgroups of a process that is gone are cleaned up. Needs root
// and a cgroup2 mount (pure v2 or hybrid).
#include "common/cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/process.h"
#include "tests/common/process_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

#define SKIP_WITHOUT_CGROUP2(host)                                                 \
  do {                                                                             \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";          \
    if (!(host).can_identify()) GTEST_SKIP() << "no cgroup2 mount (/proc/mounts)"; \
  } while (0)

// The v2 line of /proc/<pid>/cgroup: "0::/faultline-test-1-0" -> "/faultline-test-1-0".
std::string v2_cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

std::string fmt_dir(const std::string& root, const std::string& prefix, pid_t pid) {
  return root + "/" + prefix + "-" + std::to_string(pid) + "-0";
}

CgroupOptions identity(bool kill_leftovers) {
  CgroupOptions o;
  o.prefix = "faultline-test";
  o.memory = false;
  o.kill_leftovers = kill_leftovers;
  return o;
}

TEST(Cgroup, AnIdentityCgroupNamesTheChildAndItsId) {
  const CgroupHost host = detect_cgroups();
  SKIP_WITHOUT_CGROUP2(host);
  Cgroup cg(host, identity(true));
  ASSERT_FALSE(cg.v2_path().empty());
  ASSERT_EQ(cg.paths().size(), 1u) << "identity only: no v1 memory cgroup";
  struct stat st {};
  ASSERT_EQ(::stat(cg.v2_path().c_str(), &st), 0);
  EXPECT_EQ(cg.id(), std::uint64_t(st.st_ino));
  SpawnOptions s{{"/bin/sleep", "30"}, cg.procs_files()};
  const pid_t pid = spawn(s);
  EXPECT_EQ(host.v2_root + v2_cgroup_of(pid), cg.v2_path());
  // Removal kills what is inside (cells).
  cg.remove();
  const ExitInfo e = wait_child(pid, 10);
  EXPECT_EQ(e.term_signal, SIGKILL);
  EXPECT_FALSE(e.timed_out);
  EXPECT_FALSE(fs::exists(cg.v2_path()));
}

TEST(Cgroup, LeftoversCanBeMovedOutInsteadOfKilled) {
  const CgroupHost host = detect_cgroups();
  SKIP_WITHOUT_CGROUP2(host);
  Cgroup cg(host, identity(false));
  const std::string dir = cg.v2_path();
  const std::string sub = dir + "/sub";  // a sub-cgroup the command made
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  const pid_t top = spawn({{"/bin/sleep", "30"}, cg.procs_files()});
  const pid_t nested = spawn({{"/bin/sleep", "30"}, {sub + "/cgroup.procs"}});
  cg.remove();
  EXPECT_FALSE(fs::exists(dir));
  for (pid_t pid : {top, nested}) {
    EXPECT_FALSE(testing::is_gone(pid)) << "moved out, still running";
    EXPECT_EQ(v2_cgroup_of(pid), "/") << "in the hierarchy's root now";
    kill_child(pid);
  }
}

TEST(Cgroup, CgroupsOfAProcessThatIsGoneAreRemoved) {
  const CgroupHost host = detect_cgroups();
  SKIP_WITHOUT_CGROUP2(host);
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  int status;
  ::waitpid(dead, &status, 0);
  std::vector<std::string> dirs;
  for (const char* prefix : {kCgroupPrefix, kTraceCgroupPrefix}) {
    dirs.push_back(fmt_dir(host.v2_root, prefix, dead));
    ASSERT_EQ(::mkdir(dirs.back().c_str(), 0755), 0) << dirs.back();
  }
  // Ours (a live pid) stay.
  Cgroup live(host, CgroupOptions{kTraceCgroupPrefix, false});
  remove_stale_cgroups(host);
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
  EXPECT_TRUE(fs::exists(live.v2_path()));
  EXPECT_THAT(list_cell_cgroups(host, kTraceCgroupPrefix), ::testing::Contains(live.v2_path()));
}

TEST(Cgroup, IdentityNeedsCgroup2AndALimitNeedsMemory) {
  CgroupHost none;
  EXPECT_THROW(Cgroup(none, identity(true)), std::runtime_error);
  CgroupOptions bad = identity(true);
  bad.memory_limit = 1 << 30;
  const CgroupHost host = detect_cgroups();
  if (host.can_identify()) {
    EXPECT_THROW(Cgroup(host, bad), std::invalid_argument);
  }
}

}  // namespace
}  // namespace faultline
