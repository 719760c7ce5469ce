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
  // cachestat only (dirty_known): cached pages not yet written back, and
  // pages being written back (in the kernel's page units).
  bool dirty_known = false;
  std::uint64_t dirty_pages = 0;
  std::uint64_t writeback_pages = 0;
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

// Drop the file's pages: first write its dirty pages back
// (sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER) on a read-only
// descriptor: it changes no byte of the file, and POSIX_FADV_DONTNEED drops
// only clean pages), then posix_fadvise(DONTNEED) over the whole file. With
// global_drop and privilege, also `echo 3 > drop_caches` (after sync).
// Returns the residency afterwards. Throws std::system_error naming the file
// (a writeback error included).
Residency evict(const std::string& path, bool global_drop = false);

// Read the whole file once (buffered) so it is fully resident; returns the
// residency afterwards.
Residency warm(const std::string& path);

// The cache states of a measurement, verified: cold = evict (and the global
// drop when asked, or as a second try where this process may drop caches)
// leaving at most 1 % resident; warm = at least 99 % resident, read once when
// not. Throw std::runtime_error saying what stays resident and why, from
// what the kernel reports (eviction_diagnosis.h), or why the file does not
// fit.
Residency make_cold(const std::string& path, bool global_drop = false);
Residency make_warm(const std::string& path);

// True when this process may write /proc/sys/vm/drop_caches.
bool can_drop_caches();

// sync, then `echo 3 > /proc/sys/vm/drop_caches` (root). Throws on failure.
void drop_global_caches();

}  // namespace faultline
