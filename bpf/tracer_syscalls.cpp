#include "bpf/tracer_syscalls.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "bpf/trace_shared.h"

namespace faultline::bpf::detail {

std::string syscall_name(long nr) {
  switch (nr) {
    case SYS_openat:
      return "openat";
#ifdef SYS_open
    case SYS_open:
      return "open";
#endif
    case SYS_read:
      return "read";
    case SYS_pread64:
      return "pread64";
    case SYS_readv:
      return "readv";
    case SYS_preadv:
      return "preadv";
    case SYS_mmap:
      return "mmap";
    case SYS_munmap:
      return "munmap";
    case SYS_madvise:
      return "madvise";
    case SYS_mlock:
      return "mlock";
    case SYS_mlock2:
      return "mlock2";
    case SYS_fadvise64:
      return "fadvise64";
    case SYS_close:
      return "close";
    default:
      return fmt::format("syscall {}", nr);
  }
}

std::string SyscallLog::open(int ring_fd) {
  rb_ = ring_buffer__new(ring_fd, &SyscallLog::on_event, this, nullptr);
  if (!rb_) return fmt::format("cannot open the syscall ring buffer: {}", std::strerror(errno));
  return "";
}

void SyscallLog::close() {
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
}

int SyscallLog::on_event(void* ctx, void* data, std::size_t size) {
  if (size < sizeof(fl_sc_event)) return 0;
  const auto* e = static_cast<const fl_sc_event*>(data);
  SyscallEvent s;
  s.enter_ns = e->enter_ns;
  s.exit_ns = e->exit_ns;
  s.tid = e->tid;
  s.tgid = e->tgid;
  s.nr = e->nr;
  s.name = syscall_name(e->nr);
  s.ret = e->ret;
  for (int i = 0; i < 6; ++i) s.args[i] = e->args[i];
  s.has_range = e->has_range == FL_SC_RANGE;
  s.file_offset = e->file_offset;
  s.file_bytes = e->file_bytes;
  s.ino = e->ino;
  s.file_flags = e->file_flags;
  static_cast<SyscallLog*>(ctx)->events_.push_back(std::move(s));
  return 0;
}

std::size_t SyscallLog::poll(int timeout_ms) {
  if (!rb_) return 0;
  const std::size_t before = events_.size();
  ring_buffer__poll(rb_, timeout_ms);
  return events_.size() - before;
}

std::vector<SyscallEvent> SyscallLog::take() {
  return std::exchange(events_, {});
}

}  // namespace faultline::bpf::detail

// ---- the Tracer's syscall log ------------------------------------------------

#include "bpf/tracer_impl.h"

namespace faultline::bpf {
namespace detail {

std::string open_syscall_log(Tracer::Impl& impl, const TraceFilter& filter) {
  if (!filter.syscall_log) {
    impl.syscalls_unavailable = "the syscall log is off (TraceFilter::syscall_log)";
    return "";
  }
  if (filter.files.empty()) {
    impl.syscalls_unavailable = "the syscall log needs a file filter (--file)";
    return "";
  }
  for (const auto& f : impl.families) {
    if (f.spec->name != "syscall_log") continue;
    if (!f.ok()) {
      impl.syscalls_unavailable =
          fmt::format("syscall_log: {}", f.failures.empty() ? "not loaded" : f.failures.back());
      return "";
    }
    bpf_map* map = bpf_object__find_map_by_name(f.spec->ops->obj(f.skel), "sc_events");
    if (!map) return "syscall_log.bpf.o has no sc_events map";
    return impl.syscalls.open(bpf_map__fd(map));
  }
  impl.syscalls_unavailable = "syscall_log: not loaded";
  return "";
}

}  // namespace detail

std::vector<SyscallEvent> Tracer::take_syscalls() {
  if (!ok() || !impl_->syscalls.is_open()) return {};
  while (impl_->syscalls.poll(0) > 0) {
  }
  return impl_->syscalls.take();
}

std::uint64_t Tracer::syscalls_dropped() const {
  if (!ok() || !impl_->syscalls.is_open()) return 0;
  const int n = impl_->ncpus;
  std::vector<__u64> percpu(n);
  const __u32 key = FL_SC_DROPPED;
  std::uint64_t sum = 0;
  if (bpf_map_lookup_elem(impl_->maps.fd("counters"), &key, percpu.data()) == 0)
    for (int cpu = 0; cpu < n; ++cpu) sum += percpu[cpu];
  return sum;
}

std::optional<std::string> Tracer::syscalls_unavailable() const {
  if (!ok()) return error_;
  if (!impl_->syscalls_unavailable.empty()) return impl_->syscalls_unavailable;
  return std::nullopt;
}

}  // namespace faultline::bpf
