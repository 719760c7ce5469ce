// The cgroups a cell runs in. Two jobs: identity (the tracer follows a cell by
// its cgroup v2 id, bpf_get_current_cgroup_id()) and memory (a limit, the peak,
// OOM kills).
//   pure v2 (/sys/fs/cgroup is cgroup2): one v2 cgroup does both.
//   hybrid  (v1 controllers + an empty cgroup2 at /sys/fs/cgroup/unified):
//           a v2 cgroup for identity plus a v1 memory cgroup for memory.
// Detected from /proc/mounts. Cell cgroups are created flat under each
// hierarchy's root as faultline-run-<pid>-<n> and always removed afterwards.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct CgroupHost {
  std::string version = "none";  // "v2", "hybrid", "v1", "none"
  std::string v2_root;           // cgroup2 mount, "" if none
  std::string v1_memory_root;    // v1 memory controller mount, "" if none
  bool v2_memory = false;        // cgroup2 root offers the memory controller

  bool can_identify() const { return !v2_root.empty(); }
  bool can_limit_memory() const { return v2_memory || !v1_memory_root.empty(); }
};

// From /proc/mounts (and the v2 root's cgroup.controllers).
CgroupHost detect_cgroups();

inline constexpr const char* kCgroupPrefix = "faultline-run";

class CellCgroup {
 public:
  // Creates the cell's cgroup(s); sets the memory limit (and no swap) when
  // given. Throws std::runtime_error naming the path when it cannot.
  CellCgroup(const CgroupHost& host, std::optional<std::uint64_t> memory_limit);
  // Kills whatever is still inside and removes every directory.
  ~CellCgroup();
  CellCgroup(const CellCgroup&) = delete;
  CellCgroup& operator=(const CellCgroup&) = delete;

  std::optional<std::uint64_t> id() const { return id_; }  // v2 cgroup id (inode)
  // cgroup.procs files a forked child writes "0" into before exec (open +
  // write + close: async-signal-safe).
  const std::vector<std::string>& procs_files() const { return procs_; }
  const std::vector<std::string>& paths() const { return dirs_; }

  std::uint64_t oom_kills() const;                  // memory.events / memory.oom_control oom_kill
  std::optional<std::uint64_t> peak_bytes() const;  // memory.peak / memory.max_usage_in_bytes
  // A memory.stat counter (workingset_refault_file, pgmajfault...), same key in v1 and v2.
  std::optional<std::uint64_t> memory_stat(const std::string& key) const;
  void remove();  // what the destructor does; idempotent

 private:
  std::vector<std::string> dirs_, procs_;
  std::string memory_dir_;
  bool memory_v2_ = false;
  std::optional<std::uint64_t> id_;
};

// Moves this process's forked child into the cgroups (to be called in the
// child between fork and exec). Returns false when a write failed.
bool join_cgroups_in_child(const std::vector<std::string>& procs_files);

// Cell cgroups whose harness process is gone (a crash, kill -9): removed.
void remove_stale_cgroups(const CgroupHost& host);

// Names of faultline-run-* cgroups currently present (for tests and checks).
std::vector<std::string> list_cell_cgroups(const CgroupHost& host);

}  // namespace faultline
