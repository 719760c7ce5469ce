// Helpers for the tracer tests: a child process that does its work when told
// to (so the tracer and perf counters are attached first), perf's software
// page-fault counter of another process, cold-cache files, and the BPF
// program / link ids the kernel holds (to show nothing of ours stays).
#pragma once

#include <sys/stat.h>  // before temp_file.h, which uses fchmod without it
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "tests/support/bpf_objects.h"  // bpf_prog_ids, bpf_link_ids, bpf_objects_gone
#include "tests/support/temp_file.h"

namespace faultline::testing {

// Why the BPF tests cannot run here (not root, no BTF, built without BPF),
// or nullopt.
std::optional<std::string> bpf_skip_reason();

// Fork a child that waits for go(), runs `work`, reports done and then waits
// to be released (so its counters can be read while it still exists).
class WorkerChild {
 public:
  explicit WorkerChild(std::function<void()> work);
  ~WorkerChild();  // kills and reaps the child if still there
  pid_t pid() const { return pid_; }
  void go();
  void wait_done();
  int finish();  // release and reap; returns the exit status

 private:
  pid_t pid_ = -1;
  int go_w_ = -1, done_r_ = -1;
};

// A pseudorandom file in /var/tmp with no page cached.
class ColdFile {
 public:
  explicit ColdFile(std::uint64_t bytes) : file_(bytes) { evict(); }
  const std::string& path() const { return file_.path(); }
  std::uint64_t size() const { return file_.size(); }
  std::uint64_t pages() const { return (file_.size() + 4095) / 4096; }
  void evict() const;                    // posix_fadvise(DONTNEED)
  std::uint64_t resident_pages() const;  // mincore

 private:
  TempFile file_;
};

// Touch every page of `path` (mapped MAP_PRIVATE, PROT_READ) in file order,
// after madvise(advice) unless advice < 0; only the first `pages` pages when
// nonzero. For use inside WorkerChild work.
void touch_file_pages(const std::string& path, int advice, std::uint64_t pages = 0);

// read() (or pread() at increasing offsets) `path` in `chunk`-byte calls, the
// first `bytes` bytes (0: all of it).
void read_file(const std::string& path, std::size_t chunk, std::uint64_t bytes = 0,
               bool use_pread = false);

// posix_fadvise(WILLNEED) of the whole file, in 2 MiB steps (one call reads
// at most the readahead window).
void willneed(const std::string& path);

// Runs `work` in a fresh child traced by a Tracer with `filter` (the
// child's pid added) and returns the region's counts; with perf_faults,
// perf's page-fault count of the child too.
bpf::TraceCounters trace_child(bpf::TraceFilter filter, std::function<void()> work,
                               std::uint64_t* perf_faults = nullptr);

#define SKIP_WITHOUT_BPF()                                  \
  do {                                                      \
    if (auto why = bpf_skip_reason()) GTEST_SKIP() << *why; \
  } while (0)

}  // namespace faultline::testing
