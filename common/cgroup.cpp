#include "common/cgroup.h"

#include "common/credentials.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace faultline {
namespace fs = std::filesystem;
namespace {

bool write_file(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == ssize_t(value.size());
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "key value" lines (memory.events, memory.oom_control).
std::optional<std::uint64_t> keyed_value(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  std::uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

std::optional<std::uint64_t> single_value(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t v;
  if (in >> v) return v;
  return std::nullopt;
}

std::vector<pid_t> members(const std::string& dir) {
  std::vector<pid_t> pids;
  std::ifstream procs(dir + "/cgroup.procs");
  pid_t pid;
  while (procs >> pid) pids.push_back(pid);
  return pids;
}

// The one way a cgroup goes: sub-cgroups first, then what is still inside is
// killed (cgroup.kill where v2 has it, else SIGKILL to each) or moved to
// `out_procs`, then rmdir (dying tasks linger briefly: a few tries).
void empty_and_remove(const std::string& dir, bool kill, const std::string& out_procs) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  std::vector<std::string> subs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec)) subs.push_back(e.path().string());
  for (const auto& sub : subs) empty_and_remove(sub, kill, out_procs);
  if (kill) write_file(dir + "/cgroup.kill", "1");  // v2, 5.14+
  for (int attempt = 0; attempt < 250; ++attempt) {
    for (pid_t pid : members(dir))
      if (kill)
        ::kill(pid, SIGKILL);
      else
        write_file(out_procs, std::to_string(pid));
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The cgroup.procs of the hierarchy root `dir` sits under.
std::string root_procs(const std::string& dir) {
  return fs::path(dir).parent_path().string() + "/cgroup.procs";
}

}  // namespace

CgroupHost detect_cgroups() {
  CgroupHost h;
  std::ifstream mounts("/proc/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream f(line);
    std::string dev, dir, type, opts;
    f >> dev >> dir >> type >> opts;
    if (type == "cgroup2") {
      if (h.v2_root.empty() || dir == "/sys/fs/cgroup" || dir == "/sys/fs/cgroup/unified")
        h.v2_root = dir;
    } else if (type == "cgroup") {
      std::istringstream o(opts);
      std::string opt;
      while (std::getline(o, opt, ','))
        if (opt == "memory") h.v1_memory_root = dir;
    }
  }
  if (!h.v2_root.empty()) {
    std::istringstream c(read_file(h.v2_root + "/cgroup.controllers"));
    std::string ctrl;
    while (c >> ctrl) h.v2_memory = h.v2_memory || ctrl == "memory";
  }
  if (h.v2_memory)
    h.version = "v2";
  else if (!h.v2_root.empty() && !h.v1_memory_root.empty())
    h.version = "hybrid";
  else if (!h.v1_memory_root.empty())
    h.version = "v1";
  else if (!h.v2_root.empty())
    h.version = "v2";
  return h;
}

Cgroup::Cgroup(const CgroupHost& host, std::optional<std::uint64_t> limit)
    : Cgroup(host, CgroupOptions{kCgroupPrefix, true, limit, true}) {}

Cgroup::Cgroup(const CgroupHost& host, const CgroupOptions& o) : kill_leftovers_(o.kill_leftovers) {
  if (!o.memory && !host.can_identify())
    throw std::runtime_error("no cgroup2 hierarchy is mounted (see /proc/mounts)");
  if (o.memory_limit && !o.memory)
    throw std::invalid_argument("a cgroup memory limit needs the memory cgroup");
  const FsIds root_files = FsIds::root();  // the cgroup tree is root's
  static std::atomic<int> counter{0};
  const std::string name = fmt::format("{}-{}-{}", o.prefix, ::getpid(), counter++);
  auto make = [&](const std::string& root) {
    std::string dir = root + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0)
      throw std::runtime_error(
          fmt::format("cannot create cgroup {}: {}", dir, std::strerror(errno)));
    dirs_.push_back(dir);
    procs_.push_back(dir + "/cgroup.procs");
    return dir;
  };
  try {
    if (host.can_identify()) {
      v2_dir_ = make(host.v2_root);
      struct stat st;
      if (::stat(v2_dir_.c_str(), &st) != 0)
        throw std::runtime_error(
            fmt::format("cannot stat cgroup {}: {}", v2_dir_, std::strerror(errno)));
      id_ = st.st_ino;
      if (o.memory && host.v2_memory) {
        // The root cgroup may enable the memory controller for its children.
        if (read_file(host.v2_root + "/cgroup.subtree_control").find("memory") == std::string::npos)
          write_file(host.v2_root + "/cgroup.subtree_control", "+memory");
        if (fs::exists(v2_dir_ + "/memory.max")) {
          memory_dir_ = v2_dir_;
          memory_v2_ = true;
        }
      }
    }
    if (o.memory && memory_dir_.empty() && !host.v1_memory_root.empty())
      memory_dir_ = make(host.v1_memory_root);
    if (const auto limit = o.memory_limit) {
      if (memory_dir_.empty())
        throw std::runtime_error("no memory controller: neither cgroup v2 memory nor v1 memory");
      std::string bytes = std::to_string(*limit);
      bool ok;
      if (memory_v2_) {
        ok = write_file(memory_dir_ + "/memory.max", bytes);
        if (fs::exists(memory_dir_ + "/memory.swap.max"))
          write_file(memory_dir_ + "/memory.swap.max", "0");
      } else {
        ok = write_file(memory_dir_ + "/memory.limit_in_bytes", bytes);
        if (fs::exists(memory_dir_ + "/memory.memsw.limit_in_bytes"))
          write_file(memory_dir_ + "/memory.memsw.limit_in_bytes", bytes);
      }
      if (!ok)
        throw std::runtime_error(fmt::format("cannot set the memory limit of {}: {}", memory_dir_,
                                             std::strerror(errno)));
    }
  } catch (...) {
    remove();
    throw;
  }
}

Cgroup::~Cgroup() {
  remove();
}

void Cgroup::remove() {
  const FsIds root_files = FsIds::root();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it)
    empty_and_remove(*it, kill_leftovers_, root_procs(*it));
  dirs_.clear();
}

std::uint64_t Cgroup::oom_kills() const {
  if (memory_dir_.empty()) return 0;
  if (memory_v2_) return keyed_value(memory_dir_ + "/memory.events", "oom_kill").value_or(0);
  return keyed_value(memory_dir_ + "/memory.oom_control", "oom_kill").value_or(0);
}

std::optional<std::uint64_t> Cgroup::peak_bytes() const {
  if (memory_dir_.empty()) return std::nullopt;
  return single_value(memory_dir_ + (memory_v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
}

std::optional<std::uint64_t> Cgroup::memory_stat(const std::string& key) const {
  if (memory_dir_.empty()) return std::nullopt;
  return keyed_value(memory_dir_ + "/memory.stat", key);
}

bool join_cgroups_in_child(const std::vector<std::string>& procs_files) {
  bool ok = true;
  for (const auto& p : procs_files) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      ok = false;
      continue;
    }
    if (::write(fd, "0", 1) != 1) ok = false;
    ::close(fd);
  }
  return ok;
}

std::vector<std::string> list_cell_cgroups(const CgroupHost& host, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& root : {host.v2_root, host.v1_memory_root}) {
    if (root.empty()) continue;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_directory() && e.path().filename().string().rfind(prefix + "-", 0) == 0)
        out.push_back(e.path().string());
  }
  return out;
}

void remove_stale_cgroups(const CgroupHost& host) {
  const FsIds root_files = FsIds::root();
  for (const bool cell : {true, false}) {
    const std::string prefix = cell ? kCgroupPrefix : kTraceCgroupPrefix;
    for (const auto& dir : list_cell_cgroups(host, prefix)) {
      // <prefix>-<pid>-<n>
      const std::string name = fs::path(dir).filename().string();
      const pid_t pid = std::atoi(name.c_str() + prefix.size() + 1);
      if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
        empty_and_remove(dir, cell, root_procs(dir));
    }
  }
}

}  // namespace faultline
