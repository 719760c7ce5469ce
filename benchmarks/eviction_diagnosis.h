// Why a file stays in the page cache after eviction, from what the kernel
// reports: dirty or writeback pages (cachestat), and the processes that map
// it (/proc/PID/maps, where this process may read them) and how much of it
// each has locked (/proc/PID/smaps Locked). The kernel never evicts a page a
// process maps, locked or not.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/cache.h"

namespace faultline {

struct FileMapper {
  pid_t pid = 0;
  std::string comm;                // /proc/PID/comm
  std::uint64_t mapped_bytes = 0;  // of the file, summed over its mappings
  std::uint64_t locked_bytes = 0;  // of those, locked (mlock, MAP_LOCKED)
};

struct FileMappers {
  std::vector<FileMapper> found;
  int hidden = 0;  // processes whose maps this process may not read
};

// Every process that maps the file (by device and inode). Throws
// std::system_error naming the file when it cannot be stat'ed.
FileMappers find_mappers(const std::string& path);

// One sentence for "cold: N% of FILE still resident after eviction: ...":
// what keeps the pages and what to do about it.
std::string why_resident(const std::string& path, const Residency& r);

}  // namespace faultline
