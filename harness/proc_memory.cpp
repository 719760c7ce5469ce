#include "harness/proc_memory.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/rss_sampler.h"

namespace faultline::harness {
namespace {

// "Key:   123 kB" → bytes; false when the line is not such a line.
bool kib_field(const std::string& line, std::string& key, std::uint64_t& bytes) {
  const auto colon = line.find(':');
  if (colon == std::string::npos) return false;
  key = line.substr(0, colon);
  unsigned long long kib = 0;
  if (std::sscanf(line.c_str() + colon + 1, " %llu kB", &kib) != 1) return false;
  bytes = std::uint64_t(kib) * 1024;
  return true;
}

// A mapping's header: "start-end perms offset MAJ:MIN inode path".
bool mapping_header(const std::string& line, unsigned& major_no, unsigned& minor_no,
                    unsigned long long& inode) {
  unsigned long long start = 0, end = 0, offset = 0;
  char perms[8] = {};
  return std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &offset,
                     &major_no, &minor_no, &inode) == 7;
}

}  // namespace

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
  struct stat st {};
  const bool model_known = !model.empty() && ::stat(model.c_str(), &st) == 0;
  for (pid_t pid : pids) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::ifstream rollup(proc + "/smaps_rollup");
    if (!rollup) continue;
    std::string line, key;
    std::uint64_t bytes = 0, rss = 0, anon = 0, pss = 0;
    bool any = false;
    while (std::getline(rollup, line)) {
      if (!kib_field(line, key, bytes)) continue;
      any = true;
      if (key == "Rss") rss = bytes;
      if (key == "Pss") pss = bytes;
      if (key == "Anonymous") anon = bytes;
    }
    if (!any) continue;  // gone, or a kernel thread
    ++t.processes;
    t.rss_bytes += rss;
    t.anon_bytes += anon;
    t.pss_bytes += pss;
    if (with_model && model_known) {
      std::ifstream smaps(proc + "/smaps");
      bool ours = false;
      unsigned maj = 0, min = 0;
      unsigned long long inode = 0;
      while (std::getline(smaps, line)) {
        if (mapping_header(line, maj, min, inode)) {
          ours = inode == st.st_ino && ::makedev(maj, min) == st.st_dev;
          continue;
        }
        if (ours && kib_field(line, key, bytes) && key == "Rss") t.model_rss_bytes += bytes;
      }
    }
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
