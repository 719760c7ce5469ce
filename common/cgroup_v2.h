// A throwaway cgroup v2 directory that gives a traced command an identity:
// bpf_get_current_cgroup_id() reads the v2 hierarchy, which exists even on
// hybrid hosts (v1 controllers, an empty v2 tree at /sys/fs/cgroup/unified),
// so a fresh v2 cgroup names "this command and all its children". No
// controller is enabled: it only names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace faultline {

// Where cgroup2 is mounted (/sys/fs/cgroup on pure-v2 hosts,
// /sys/fs/cgroup/unified on hybrid ones), from /proc/mounts; nullopt if nowhere.
std::optional<std::string> cgroup2_mount();

class ScopedCgroup {
 public:
  // Creates <cgroup2 mount>/<prefix>-<pid>-<n>. Throws std::runtime_error
  // with a clear message when there is no cgroup2 mount or mkdir fails.
  explicit ScopedCgroup(const std::string& prefix = "faultline-trace");
  // Moves whatever is still inside to the parent and removes the directory.
  ~ScopedCgroup();
  ScopedCgroup(const ScopedCgroup&) = delete;
  ScopedCgroup& operator=(const ScopedCgroup&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t id() const { return id_; }  // what bpf_get_current_cgroup_id() returns
  // Path of cgroup.procs: a child writes "0" there (async-signal-safe:
  // open/write/close) to move itself in before exec.
  const std::string& procs_path() const { return procs_; }
  bool add(pid_t pid) const;

 private:
  std::string path_, procs_;
  std::uint64_t id_ = 0;
};

}  // namespace faultline
