// Page-cache control: writeback + posix_fadvise(DONTNEED) eviction, optional global drop,
// warming by a buffered read, and residency through cachestat(2) or mincore.
#include "benchmarks/cache.h"

#include "benchmarks/eviction_diagnosis.h"
#include "common/unique_fd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace faultline {
namespace {

constexpr std::uint64_t kUnit = 4096;  // Residency counts 4 KiB pages on every architecture.
constexpr const char* kDropCaches = "/proc/sys/vm/drop_caches";

// cachestat(2) arrived in Linux 6.5; glibc 2.36 and the 6.1 uapi headers of
// Debian 12 do not declare it, so the ABI is spelled out here.
#ifndef __NR_cachestat
#define __NR_cachestat 451  // x86_64 and arm64 alike (the unified syscall numbering)
#endif
struct CachestatRange {
  std::uint64_t off;
  std::uint64_t len;  // 0 = to the end of the file
};
struct Cachestat {
  std::uint64_t nr_cache;
  std::uint64_t nr_dirty;
  std::uint64_t nr_writeback;
  std::uint64_t nr_evicted;
  std::uint64_t nr_recently_evicted;
};

[[noreturn]] void fail(int err, const std::string& what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), fmt::format("{}({})", what, path));
}

// Both cachestat (on recent kernels, as seen on 6.18) and mincore answer only the file's owner,
// a process that may write it, or a privileged one; anyone else gets EPERM
// from cachestat and an all-resident lie from mincore.
constexpr const char* kResidencyPermission =
    "page-cache residency is reported only to the file's owner, a writer or root";

[[noreturn]] void fail_permission(const std::string& what, const std::string& path) {
  throw std::system_error(EPERM, std::generic_category(),
                          fmt::format("{}({}): {}", what, path, kResidencyPermission));
}

bool may_see_residency(int fd) {
  struct stat st {};
  return ::geteuid() == 0 || (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid()) ||
         ::faccessat(fd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
}

std::uint64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(errno, "fstat", path);
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t page_size() {
  static const auto size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// System pages → 4 KiB units, capped at the file's span (the last system page
// may cover past EOF when pages are larger than 4 KiB).
std::uint64_t to_units(std::uint64_t sys_pages, std::uint64_t file_pages) {
  return std::min(sys_pages * (page_size() / kUnit), file_pages);
}

// Returns false (errno set) when the kernel has no cachestat.
bool residency_by_cachestat(int fd, const std::string& path, Residency& out) {
  CachestatRange range{0, 0};
  Cachestat cs{};
  if (::syscall(__NR_cachestat, fd, &range, &cs, 0) != 0) {
    if (errno == ENOSYS) return false;
    if (errno == EPERM) fail_permission("cachestat", path);
    fail(errno, "cachestat", path);
  }
  out.resident_pages = to_units(cs.nr_cache, out.file_pages);
  out.method = "cachestat";
  out.dirty_known = true;
  out.dirty_pages = cs.nr_dirty;
  out.writeback_pages = cs.nr_writeback;
  return true;
}

// mmap(PROT_READ) + mincore over windows of 1 GiB, so a 100 GB file needs
// only a small vector.
void residency_by_mincore(int fd, const std::string& path, std::uint64_t size, Residency& out) {
  out.method = "mincore";
  out.resident_pages = 0;
  if (size == 0) return;
  if (!may_see_residency(fd)) fail_permission("mincore", path);
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) fail(errno, "mmap", path);
  const std::uint64_t window = std::uint64_t{1} << 30;
  std::vector<unsigned char> vec(window / page_size());
  std::uint64_t resident = 0;
  int err = 0;
  for (std::uint64_t off = 0; off < size && err == 0; off += window) {
    const std::uint64_t len = std::min(window, size - off);
    if (::mincore(static_cast<char*>(base) + off, len, vec.data()) != 0) {
      err = errno;
      break;
    }
    const std::uint64_t n = (len + page_size() - 1) / page_size();
    resident += static_cast<std::uint64_t>(
        std::count_if(vec.begin(), vec.begin() + static_cast<std::ptrdiff_t>(n),
                      [](unsigned char v) { return (v & 1) != 0; }));
  }
  ::munmap(base, size);
  if (err != 0) fail(err, "mincore", path);
  out.resident_pages = to_units(resident, out.file_pages);
}

Residency residency_of(int fd, const std::string& path, ResidencyMethod method) {
  const std::uint64_t size = file_size(fd, path);
  Residency r;
  r.file_pages = (size + kUnit - 1) / kUnit;
  if (method != ResidencyMethod::mincore) {
    if (residency_by_cachestat(fd, path, r)) return r;
    if (method == ResidencyMethod::cachestat) fail(ENOSYS, "cachestat", path);
  }
  residency_by_mincore(fd, path, size, r);
  return r;
}

}  // namespace

Residency residency(const std::string& path) {
  return residency(path, ResidencyMethod::automatic);
}

Residency residency(const std::string& path, ResidencyMethod method) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  return residency_of(fd.get(), path, method);
}

bool cachestat_available() {
  static const bool available = [] {
    CachestatRange range{0, 0};
    Cachestat cs{};
    // An invalid descriptor: EBADF where the syscall exists, ENOSYS where not.
    return ::syscall(__NR_cachestat, -1, &range, &cs, 0) == 0 || errno != ENOSYS;
  }();
  return available;
}

Residency evict(const std::string& path, bool global_drop) {
  {
    UniqueFd fd = open_or_throw(path, O_RDONLY);
    // A file just written (copied, generated) is dirty in the cache, and
    // DONTNEED skips dirty pages: write them back first. Neither call needs
    // a writable descriptor, and nothing in the file changes.
    if (::sync_file_range(fd.get(), 0, 0,
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                              SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
      if (errno != EINVAL && errno != ESPIPE && errno != ENOSYS)
        fail(errno, "sync_file_range", path);
      if (::fdatasync(fd.get()) != 0 && errno != EINVAL) fail(errno, "fdatasync", path);
    }
    // Clean, unmapped pages go; pages mapped (or locked) by any process stay,
    // which is why the caller checks residency.
    if (const int err = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED); err != 0)
      fail(err, "posix_fadvise(DONTNEED)", path);
  }
  if (global_drop && can_drop_caches()) drop_global_caches();
  return residency(path);
}

Residency make_cold(const std::string& path, bool global_drop) {
  Residency r = evict(path, global_drop);
  if (r.pct() > 1.0 && !global_drop && can_drop_caches()) r = evict(path, true);
  if (r.pct() > 1.0)
    throw std::runtime_error(fmt::format("cold: {:.1f}% of {} still resident after eviction: {}",
                                         r.pct(), path, why_resident(path, r)));
  return r;
}

Residency make_warm(const std::string& path) {
  Residency r = residency(path);
  if (r.pct() < 99.0) r = warm(path);
  if (r.pct() < 99.0)
    throw std::runtime_error(fmt::format(
        "warm: only {:.1f}% of {} resident after reading it (not enough memory?)", r.pct(), path));
  return r;
}

Residency warm(const std::string& path) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  // Start readahead of the whole file, then read it so every page is in.
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_WILLNEED);
  constexpr std::size_t kBuffer = std::size_t{4} << 20;
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.get(), kBuffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "read", path);
    }
  }
  return residency_of(fd.get(), path, ResidencyMethod::automatic);
}

bool can_drop_caches() {
  return ::access(kDropCaches, W_OK) == 0;
}

void drop_global_caches() {
  ::sync();
  const int fd = ::open(kDropCaches, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(errno, "open", kDropCaches);
  const ssize_t n = ::write(fd, "3", 1);
  const int err = errno;
  ::close(fd);
  if (n != 1) fail(err, "write", kDropCaches);
}

}  // namespace faultline
