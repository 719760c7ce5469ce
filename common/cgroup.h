// The cgroups faultline puts its children in. Two jobs: identity (the tracer
// follows a cell or a traced command and all its children by its cgroup v2
// id, bpf_get_current_cgroup_id(), which reads the v2 hierarchy even on
// hybrid hosts) and memory (a limit, the peak, OOM kills; cells only).
//   pure v2 (/sys/fs/cgroup is cgroup2): one v2 cgroup does both.
//   hybrid  (v1 controllers + an empty cgroup2 at /sys/fs/cgroup/unified):
//           a v2 cgroup for identity plus a v1 memory cgroup for memory.
// Detected from /proc/mounts. Cgroups are created flat under each
// hierarchy's root as <prefix>-<pid>-<n> (faultline-run for cells,
// faultline-trace for `faultline trace`) and always removed afterwards; those
// of a process that died without removing them go at the next start.
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

inline constexpr const char* kCgroupPrefix = "faultline-run";         // run's cells
inline constexpr const char* kTraceCgroupPrefix = "faultline-trace";  // faultline trace

struct CgroupOptions {
  std::string prefix = kCgroupPrefix;
  // Also a memory cgroup (the v2 controller, or the v1 hierarchy) when the
  // host has one. false: identity only, and then a cgroup2 mount is required.
  bool memory = true;
  std::optional<std::uint64_t> memory_limit;  // and no swap; needs `memory`
  // What removal does with processes still inside: kill them (cells), or
  // move them to the parent (a traced command still running when the trace
  // ends goes on, untraced).
  bool kill_leftovers = true;
};

class Cgroup {
 public:
  // Creates the cgroup(s). Throws std::runtime_error naming the path (or
  // what is missing) when it cannot.
  Cgroup(const CgroupHost& host, const CgroupOptions& options);
  // A cell's: identity when the host can, memory, the limit when given.
  Cgroup(const CgroupHost& host, std::optional<std::uint64_t> memory_limit);
  ~Cgroup();  // remove()
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  std::optional<std::uint64_t> id() const { return id_; }  // v2 cgroup id (inode)
  const std::string& v2_path() const { return v2_dir_; }   // "" without cgroup2
  // cgroup.procs files a forked child writes "0" into before exec (open +
  // write + close: async-signal-safe); SpawnOptions::cgroup_procs.
  const std::vector<std::string>& procs_files() const { return procs_; }
  const std::vector<std::string>& paths() const { return dirs_; }

  std::uint64_t oom_kills() const;                  // memory.events / memory.oom_control oom_kill
  std::optional<std::uint64_t> peak_bytes() const;  // memory.peak / memory.max_usage_in_bytes
  // A memory.stat counter (workingset_refault_file, pgmajfault...), same key in v1 and v2.
  std::optional<std::uint64_t> memory_stat(const std::string& key) const;
  // Kills (or moves out) what is still inside, then removes every directory
  // (sub-cgroups made inside included). Idempotent.
  void remove();
  // What remove() does with what is still inside from now on.
  void set_kill_leftovers(bool kill) { kill_leftovers_ = kill; }

 private:
  std::vector<std::string> dirs_, procs_;
  std::string v2_dir_, memory_dir_;
  bool memory_v2_ = false;
  bool kill_leftovers_ = true;
  std::optional<std::uint64_t> id_;
};

// Moves this process's forked child into the cgroups (to be called in the
// child between fork and exec). Returns false when a write failed.
bool join_cgroups_in_child(const std::vector<std::string>& procs_files);

// Cgroups of faultline processes that are gone (a crash, kill -9): cells'
// are emptied (killed) and removed, trace's have their processes moved out
// and are removed.
void remove_stale_cgroups(const CgroupHost& host);

// faultline-run-* (by default) cgroups currently present (for tests and checks).
std::vector<std::string> list_cell_cgroups(const CgroupHost& host,
                                           const std::string& prefix = kCgroupPrefix);

}  // namespace faultline
