// The Tracer: loads the BPF objects (one per probe family, bpf/README.md)
// with a filter, attaches them, reads their counters and timeline, and
// detaches everything when destroyed.
//
//   bpf::Tracer tracer({.pids = {child}, .files = {"/models/m.gguf"}});
//   if (!tracer.start()) { log(tracer.error()); /* go on untraced */ }
//   auto before = tracer.snapshot();
//   ... measured region ...
//   auto region = tracer.snapshot() - before;
//   for (auto& [name, value] : bpf::to_metrics(region)) ...   // only what was measured
//   tracer.availability();   // the probes, and why the other bpf_* metrics are absent
//
// Each family (faults, readahead, page cache, block I/O, ...) is loaded and
// attached on its own, trying its mechanisms in order (tp_btf, fentry,
// kprobe): a kernel that lacks one, or refuses one, still gives the others.
// Nothing is pinned: programs, links and maps live in this object's file
// descriptors and vanish with it (or with the process, whatever kills it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/trace_counters.h"
#include "common/availability.h"

namespace faultline::bpf {

struct TraceFilter {
  // Task filter: a task passes if it runs in the cgroup v2 directory
  // cgroup_path or in one of its descendants, OR its tgid is in pids (new
  // processes they fork join them); with neither set every task passes.
  std::optional<std::string> cgroup_path;
  std::vector<int> pids;
  // File filter: page-cache, filemap-fault, readahead and block events only
  // for these files (matched by device + inode); empty = every file.
  std::vector<std::string> files;
  // Per-event timeline through a ring buffer of timeline_bytes (rounded up
  // to a power of two pages); counts are always kept.
  bool timeline = false;
  std::size_t timeline_bytes = 16u << 20;
  // At most this many events are kept in memory (0 = no bound): when the
  // buffer is full, every other event is dropped and from then on only every
  // 2nd (4th, ...) event is kept; timeline_stride() says which. The buffer is
  // allocated and touched up front (reset_timeline), so collecting events
  // does not grow this process's RSS during a measured region.
  std::size_t timeline_max_events = 0;
  // Track "readahead pages never used" (needs a file filter): a page bitmap
  // per traced file, 3 bits per page (see bpf/README.md for its cost).
  bool track_unused = false;
  // Log the calls of the traced tasks on the traced files (needs a file
  // filter): openat, read/pread64/readv/preadv, mmap, munmap, madvise, mlock,
  // mlock2, fadvise64, close, from raw_syscalls (syscall_log.bpf.c), into a
  // ring buffer of its own; take_syscalls() collects them.
  bool syscall_log = false;
  std::size_t syscall_ring_bytes = 2u << 20;
  // Ask the kernel to time every program run (BPF_ENABLE_STATS while this
  // Tracer is attached): program_stats() then gives ns per event. For
  // overhead studies only: it adds two clock reads to every event.
  bool program_stats = false;
  std::size_t max_pids = 1024;  // room for add_pid() and followed children
};

struct TimelineEvent {
  std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
  std::uint32_t tgid = 0;
  std::uint32_t tid = 0;  // the thread
  std::string_view kind;  // "filemap_fault", "faultaround", "major_fault", "ra_sync",
                          // "ra_async", "ra_order", "ra_unbounded", "pagecache_add",
                          // "pagecache_evict", "bio_issue", "bio_done"
  std::uint64_t ino = 0;
  std::uint64_t index = 0;  // page index in the file (offset = index * 4096); sector for bio
  std::uint64_t nr = 0;     // pages (bytes for bio)
  std::uint64_t value = 0;  // latency ns, async size...
  std::uint16_t order = 0;
};

// One call of a traced task on a traced file (TraceFilter::syscall_log).
struct SyscallEvent {
  std::uint64_t enter_ns = 0, exit_ns = 0;  // CLOCK_MONOTONIC
  std::uint32_t tid = 0, tgid = 0;
  std::string name;  // "openat", "read", "pread64", "readv", "preadv", "mmap", "munmap",
                     // "madvise", "mlock", "mlock2", "fadvise64", "close" ("open" too)
  long nr = 0;       // the syscall number
  std::int64_t ret = 0;
  std::uint64_t args[6] = {};  // raw arguments
  // The call's range in the file: reads [position or offset, + bytes returned),
  // mmap [offset, + length), fadvise64 [offset, + len) (len 0 = to the end),
  // munmap/madvise/mlock/mlock2 [addr, + len) translated through the VMA at
  // addr that maps the traced file (the part inside that VMA).
  bool has_range = false;
  std::uint64_t file_offset = 0, file_bytes = 0;
  std::uint64_t ino = 0;
  std::uint32_t file_flags = 0;  // the open file's f_flags (O_DIRECT, ...)
};

struct ProgramStats {
  std::string name;  // the program (section) name
  std::uint64_t runs = 0;
  std::uint64_t run_time_ns = 0;  // total, kernel-measured
};

// nullopt when this process can trace; otherwise why not ("not root and
// missing CAP_BPF/CAP_PERFMON", "built without BPF: ...", "no kernel BTF").
std::optional<std::string> tracing_unavailable_reason();

// Kernel dev_t encoding (major << 20 | minor) of a stat() st_dev.
std::uint64_t kernel_dev(std::uint64_t st_dev);

class Tracer {
 public:
  // Opens, loads and attach-tests every family with the filter. Never
  // throws: when nothing can trace, ok() is false and error() starts with
  // "tracing unavailable: ".
  explicit Tracer(TraceFilter filter);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // The attached programs ("tp_btf/page_cache_sync_ra", ...), then notes:
  // "skipped <family>: <why>" for what the kernel refused, "warning: ..."
  // for filters that may not match (files on overlayfs/btrfs). For logs.
  const std::vector<std::string>& probes() const { return probes_; }
  const TraceFilter& filter() const { return filter_; }
  // The probes attached, and every bpf_* metric (results/schema.json) this
  // tracer cannot measure with the reason: what to_metrics() leaves out.
  Availability availability() const;

  // Attach every loaded family. False (and error()) when none attaches.
  bool start();
  // Detach every program (the destructor does this too). Counters stay
  // readable.
  void stop();
  // Add a tgid to the task filter while running (room: max_pids).
  bool add_pid(int pid);
  // "Never used" from now on counts only pages added from now on (a
  // region's own readahead): forgets what is still marked unused.
  void restart_unused();

  // Cumulative counts since start (all zero if !ok()); carries
  // availability(), so to_metrics() of a difference knows what to leave out.
  TraceCounters snapshot() const;
  // Move the ring buffer's pending events into the timeline; returns how
  // many. Call it regularly during long runs (timeline mode only).
  std::size_t poll_timeline(int timeout_ms = 0);
  // The events collected so far (taken out of the tracer).
  std::vector<TimelineEvent> take_timeline();
  // Forget collected events and pending ring-buffer events; with
  // timeline_max_events, allocate and touch the bounded buffer again.
  void reset_timeline();
  // Every timeline_stride()-th event is kept; timeline_seen() events arrived.
  std::size_t timeline_stride() const;
  std::uint64_t timeline_seen() const;
  // The syscall log (TraceFilter::syscall_log): the calls collected so far
  // (poll_timeline() also drains its ring buffer), taken out of the tracer;
  // how many did not fit in the ring buffer; nullopt when it is measured,
  // else why not ("syscall log needs a file filter (--file)", the load failure).
  std::vector<SyscallEvent> take_syscalls();
  std::uint64_t syscalls_dropped() const;
  std::optional<std::string> syscalls_unavailable() const;
  // Per attached program: runs and kernel-measured run time (zeros unless
  // filter.program_stats).
  std::vector<ProgramStats> program_stats() const;

  struct Impl;  // bpf/tracer_impl.h (inside the tracer only)

 private:
  TraceFilter filter_;
  std::string error_;
  std::vector<std::string> probes_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::bpf
