#include "harness/proc_memory.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/rss_sampler.h"
#include "common/smaps.h"

namespace faultline::harness {

std::vector<pid_t> cgroup_pids(const std::vector<std::string>& dirs) {
  std::vector<pid_t> pids;
  for (const auto& d : dirs) {
    std::ifstream in(d + "/cgroup.procs");
    if (!in) continue;
    long pid = 0;
    while (in >> pid) pids.push_back(pid_t(pid));
    break;
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

TreeMemory read_tree_memory(const std::vector<pid_t>& pids, const std::string& model,
                            bool with_model) {
  TreeMemory t;
  const std::optional<FileKey> file = model.empty() ? std::nullopt : file_key(model);
  for (pid_t pid : pids) {
    const std::string proc = "/proc/" + std::to_string(pid);
    const auto rollup = read_smaps(pid, "smaps_rollup");
    if (rollup.empty() || rollup[0].kib.empty()) continue;  // gone, or a kernel thread
    ++t.processes;
    t.rss_bytes += rollup[0].bytes("Rss");
    t.anon_bytes += rollup[0].bytes("Anonymous");
    t.pss_bytes += rollup[0].bytes("Pss");
    if (with_model && file) t.model_rss_bytes += file_field_bytes(read_smaps(pid), *file, "Rss");
    std::string line;
    std::ifstream io(proc + "/io");
    bool io_read = false;
    while (std::getline(io, line)) {
      unsigned long long v = 0;
      if (std::sscanf(line.c_str(), "read_bytes: %llu", &v) == 1) {
        t.read_bytes += v;
        io_read = true;
      }
    }
    if (!io_read) t.io_known = false;
  }
  return t;
}

std::uint64_t tree_rss(const std::vector<pid_t>& pids) {
  std::uint64_t sum = 0;
  for (pid_t pid : pids) {
    ProcStatusRss s;
    if (read_status_rss(pid, s)) sum += s.rss_bytes;
  }
  return sum;
}

}  // namespace faultline::harness
