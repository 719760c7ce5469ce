// What a program cell's processes hold and read, from /proc: smaps_rollup
// (Rss, Pss, Anonymous), the model's own mappings in smaps (matched by
// device and inode), /proc/PID/io read_bytes; summed over a set of
// processes (every process of the cell's cgroup). A process gone meanwhile
// is skipped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::harness {

struct TreeMemory {
  int processes = 0;  // read (alive, readable)
  std::uint64_t rss_bytes = 0, anon_bytes = 0, pss_bytes = 0;
  std::uint64_t model_rss_bytes = 0;  // Rss of the model's mappings
  std::uint64_t read_bytes = 0;       // /proc/PID/io read_bytes
  bool io_known = true;               // every process's io was readable
  std::uint64_t file_bytes() const { return rss_bytes - anon_bytes; }
};

// The processes in the cgroup directories' cgroup.procs (deduplicated); the
// first directory that has the file is read.
std::vector<pid_t> cgroup_pids(const std::vector<std::string>& cgroup_dirs);

// Sums over `pids`. `model` is the model file (its device and inode pick its
// mappings); with_model false skips reading smaps (cheaper, for samples).
TreeMemory read_tree_memory(const std::vector<pid_t>& pids, const std::string& model,
                            bool with_model = true);

// Sum of VmRSS over `pids` (/proc/PID/status), for the peak.
std::uint64_t tree_rss(const std::vector<pid_t>& pids);

}  // namespace faultline::harness
