// The doctor's workloads (harness/doctor.h): a scratch file of pseudorandom
// bytes on the filesystem under test, unlinked as soon as it is open (so no
// interrupt can leave it behind; it is used through /proc/self/fd), and the
// small loads whose kernel-side effects are known.
#pragma once

#include <cstdint>
#include <string>

#include "common/histogram.h"
#include "common/unique_fd.h"

namespace faultline::harness::doctor {

class ScratchFile {
 public:
  // `bytes` (a multiple of 4 KiB) of pseudorandom data in `dir`, written,
  // fdatasync'ed (clean pages: eviction then works), then unlinked.
  // Throws std::runtime_error naming the folder.
  ScratchFile(const std::string& dir, std::uint64_t bytes);
  int fd() const { return fd_.get(); }
  // A path that opens the (unlinked) file: /proc/self/fd/N.
  const std::string& path() const { return path_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t pages() const { return bytes_ / 4096; }
  std::string filesystem() const;  // "ext4", "tmpfs", ... (statfs magic)

 private:
  UniqueFd fd_;
  std::string path_;
  std::uint64_t bytes_;
};

// Page-cache control of the scratch file (benchmarks/cache.h underneath).
void evict(const ScratchFile& f);  // residency verified ~0, else throws
void warm(const ScratchFile& f);   // residency verified 100 %, else throws
std::uint64_t resident_pages_cachestat(const ScratchFile& f);  // throws without cachestat
std::uint64_t resident_pages_mincore(const ScratchFile& f);

// read() the whole file in 1 MiB calls.
void read_all(const ScratchFile& f);

// mmap(PROT_READ, MAP_PRIVATE), madvise(advice) unless < 0, touch one byte of
// each of the first `pages` pages in order, each first touch timed by
// faultline-bench's own TouchTimer (the probe the touch_* metrics come
// from); the mapping stays until unmap().
struct Touch {
  const std::uint8_t* base = nullptr;
  std::uint64_t bytes = 0;
  Histogram latency_ns;  // log2 slots of ns
  std::uint64_t count() const { return latency_ns.total(); }
  void unmap();
  ~Touch() { unmap(); }
};
void touch(const ScratchFile& f, int advice, std::uint64_t pages, Touch& out);

// Writes one byte of each page of `bytes` of fresh anonymous memory
// (MADV_NOHUGEPAGE: one fault per page), then unmaps it.
void touch_anonymous(std::uint64_t bytes);

// posix_fadvise(WILLNEED) over the whole file in pieces of `window_pages`
// (the kernel's forced readahead reads at most one readahead window per
// call), then wait (at most 5 s) until every page is resident: readahead
// from WILLNEED is asynchronous.
void willneed_and_wait(const ScratchFile& f, std::uint64_t window_pages);

// posix_fadvise(DONTNEED) over the whole file, without any check.
void dontneed(const ScratchFile& f);

// Process-wide counters around a workload.
struct ProcessCounters {
  std::uint64_t minor = 0, major = 0;  // getrusage
  std::uint64_t read_bytes = 0;        // /proc/self/io
  std::uint64_t rss_file = 0;          // RssFile
  std::uint64_t pss = 0;               // smaps_rollup Pss
  // Pss of the scratch file's mappings alone (/proc/self/smaps). The
  // rollup also moves when other processes map or unmap the libraries we
  // share with them (a parallel test starting faultline lowers ours by
  // hundreds of KiB), so the known-answer check reads the file's own.
  std::uint64_t pss_scratch = 0;
};
// `scratch`: the file whose mappings pss_scratch sums (nullptr: none).
ProcessCounters process_counters(const ScratchFile* scratch = nullptr);

}  // namespace faultline::harness::doctor
