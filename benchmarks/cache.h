// Page-cache control for one file: evict it, warm it, and measure how much of
// it is resident. Cold measurements evict and then verify residency before
// the clock starts (DESIGN.md, measurement rules).
#pragma once

#include <cstdint>
#include <string>

namespace faultline {

struct Residency {
  std::uint64_t file_pages = 0;      // pages the file spans (4 KiB units, rounded up)
  std::uint64_t resident_pages = 0;  // of those, pages in the page cache
  const char* method = "";           // "cachestat" or "mincore"
  double pct() const {
    return file_pages ? 100.0 * double(resident_pages) / double(file_pages) : 0.0;
  }
};

// Page-cache residency of the file: cachestat(2) where the kernel has it
// (Linux 6.5+), else mmap + mincore. Throws std::system_error naming the file.
Residency residency(const std::string& path);

// Which way residency() asks the kernel: automatic = cachestat, falling back
// to mincore on ENOSYS; cachestat = only cachestat (ENOSYS is an error);
// mincore = only mmap + mincore. The forced forms let tests compare the two.
enum class ResidencyMethod { automatic, cachestat, mincore };
Residency residency(const std::string& path, ResidencyMethod method);

// True when the running kernel has cachestat(2).
bool cachestat_available();

// Drop the file's pages: fsync-free posix_fadvise(DONTNEED) over the whole
// file. With global_drop and privilege, also `echo 3 > drop_caches` (after
// sync). Returns the residency afterwards.
Residency evict(const std::string& path, bool global_drop = false);

// Read the whole file once (buffered) so it is fully resident; returns the
// residency afterwards.
Residency warm(const std::string& path);

// True when this process may write /proc/sys/vm/drop_caches.
bool can_drop_caches();

// sync, then `echo 3 > /proc/sys/vm/drop_caches` (root). Throws on failure.
void drop_global_caches();

}  // namespace faultline
