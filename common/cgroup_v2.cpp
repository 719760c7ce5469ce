#include "common/cgroup_v2.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace faultline {
namespace {

bool write_pid(const std::string& procs, pid_t pid) {
  const int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string s = std::to_string(pid);
  const bool ok = write(fd, s.data(), s.size()) == ssize_t(s.size());
  close(fd);
  return ok;
}

// Cgroups of earlier runs that were killed before cleaning up
// (<prefix>-<pid>-<n> whose pid is gone): removed when empty.
void remove_stale(const std::string& mount, const std::string& prefix) {
  DIR* dir = opendir(mount.c_str());
  if (!dir) return;
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix + "-", 0) != 0) continue;
    const int pid = std::atoi(name.c_str() + prefix.size() + 1);
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    rmdir((mount + "/" + name).c_str());  // fails harmlessly while processes remain
  }
  closedir(dir);
}

}  // namespace

std::optional<std::string> cgroup2_mount() {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  std::optional<std::string> found;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    fields >> dev >> dir >> type;
    if (type != "cgroup2") continue;
    // Prefer the canonical locations when several exist.
    if (!found || dir == "/sys/fs/cgroup" || dir == "/sys/fs/cgroup/unified") found = dir;
  }
  return found;
}

ScopedCgroup::ScopedCgroup(const std::string& prefix) {
  const auto mount = cgroup2_mount();
  if (!mount) throw std::runtime_error("no cgroup2 hierarchy is mounted (see /proc/mounts)");
  remove_stale(*mount, prefix);
  static std::atomic<int> counter{0};
  path_ = fmt::format("{}/{}-{}-{}", *mount, prefix, getpid(), counter++);
  if (mkdir(path_.c_str(), 0755) != 0)
    throw std::runtime_error(
        fmt::format("cannot create cgroup {}: {}", path_, std::strerror(errno)));
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    rmdir(path_.c_str());
    throw std::runtime_error(fmt::format("cannot stat cgroup {}: {}", path_, std::strerror(errno)));
  }
  id_ = st.st_ino;
  procs_ = path_ + "/cgroup.procs";
}

ScopedCgroup::~ScopedCgroup() {
  const std::string parent_procs = path_.substr(0, path_.rfind('/')) + "/cgroup.procs";
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream procs(procs_);
    pid_t pid;
    while (procs >> pid) write_pid(parent_procs, pid);
    if (rmdir(path_.c_str()) == 0 || errno == ENOENT) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // exiting tasks linger briefly
  }
}

bool ScopedCgroup::add(pid_t pid) const {
  return write_pid(procs_, pid);
}

}  // namespace faultline
