#include "bpf/tracer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "schema/metrics.h"

#ifndef FAULTLINE_HAVE_BPF
#define FAULTLINE_HAVE_BPF 0
#endif

#if FAULTLINE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/trace_shared.h"
#include "bpf/tracer_impl.h"
#endif

namespace faultline::bpf {

std::uint64_t kernel_dev(std::uint64_t st_dev) {
  return (std::uint64_t(major(st_dev)) << 20) | minor(st_dev);
}

#if FAULTLINE_HAVE_BPF

using namespace detail;

namespace {

std::size_t round_up_pow2(std::size_t v) {
  std::size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

Tracer::Tracer(TraceFilter filter) : filter_(std::move(filter)) {
  install_libbpf_print();
  if (auto why = tracing_unavailable_reason()) {
    error_ = "tracing unavailable: " + *why;
    return;
  }
  auto impl = std::make_unique<Impl>();
  const bool unused = filter_.track_unused && !filter_.files.empty();
  TracedFiles traced = resolve_files(filter_.files, unused);
  if (!traced.error.empty()) {
    error_ = "tracing unavailable: " + traced.error;
    return;
  }
  const auto& files = traced.files;
  const std::uint32_t word = traced.words, pmd_word = traced.pmd_words;
  if (filter_.cgroup_path) {
    impl->cgroup_fd = open(filter_.cgroup_path->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (impl->cgroup_fd < 0) {
      error_ = fmt::format("tracing unavailable: cgroup {}: {}", *filter_.cgroup_path,
                           std::strerror(errno));
      return;
    }
  }
  MapSizes sizes;
  sizes.tgids = std::max<std::size_t>({1, filter_.max_pids, filter_.pids.size()});
  sizes.files = std::max<std::size_t>(1, files.size());
  sizes.bitmap_words = impl->bitmap_words = std::max<std::uint32_t>(1, word);
  sizes.pmd_words = std::max<std::uint32_t>(1, pmd_word);
  const std::size_t page = sysconf(_SC_PAGESIZE);
  sizes.ring_bytes =
      filter_.timeline ? round_up_pow2(std::max(filter_.timeline_bytes, page)) : page;
  if (auto why = impl->maps.load(sizes); !why.empty()) {
    error_ = "tracing unavailable: " + why;
    return;
  }
  const __u8 one = 1;
  for (int pid : filter_.pids) {
    const __u32 key = pid;
    bpf_map_update_elem(impl->maps.fd("tgids"), &key, &one, BPF_ANY);
  }
  for (const auto& f : files)
    bpf_map_update_elem(impl->maps.fd("files"), &f.key, &f.slices, BPF_ANY);
  if (impl->cgroup_fd >= 0) {
    const __u32 key = 0, fd = impl->cgroup_fd;
    if (bpf_map_update_elem(impl->maps.fd("cgroups"), &key, &fd, BPF_ANY) != 0) {
      error_ = fmt::format("tracing unavailable: cgroup {} is not a cgroup v2 directory: {}",
                           *filter_.cgroup_path, std::strerror(errno));
      return;
    }
  }

  Config config;
  config.filter_cgroup = filter_.cgroup_path.has_value();
  config.filter_tgid = !filter_.pids.empty();
  config.filter_files = !files.empty();
  config.timeline = filter_.timeline;
  config.track_unused = unused;
  impl->inputs = {!files.empty(), unused, false};
  KernelFeatures kernel;
  for (const FamilySpec& spec : family_specs()) {
    const std::string name(spec.name);
    if ((name == "syscalls" && !unused) || (name == "forks" && filter_.pids.empty())) continue;
    if (name == "syscall_log" && !(filter_.syscall_log && !files.empty())) continue;
    Config c = config;
    c.syscall_ring_bytes = round_up_pow2(std::max(filter_.syscall_ring_bytes, page));
    if (spec.name == families().fault_latency) {
      // Without exceptions:page_fault_user, user faults come from here.
      const bool no_tp = !impl->families.empty() && !impl->families.front().ok();
      c.user_faults_from_mm = impl->inputs.user_faults_via_latency = no_tp;
    }
    impl->families.push_back(load_family(spec, c, impl->maps, kernel));
  }
  for (const auto& f : impl->families) {
    if (f.ok())
      for (bpf_program* p : f.programs) probes_.push_back(bpf_program__section_name(p));
    else
      probes_.push_back(fmt::format("skipped {}: {}", f.spec->name,
                                    f.failures.empty() ? "not loaded" : f.failures.back()));
    if (f.ok() && !f.unused_failure.empty())
      probes_.push_back(
          fmt::format("skipped never-used bookkeeping in {}: {}", f.spec->name, f.unused_failure));
  }
  probes_.insert(probes_.end(), traced.notes.begin(), traced.notes.end());
  if (std::none_of(impl->families.begin(), impl->families.end(),
                   [](const LoadedFamily& f) { return f.ok(); })) {
    std::string why = "no probe family loads";
    for (const auto& f : impl->families)
      if (!f.failures.empty()) why += fmt::format("; {}: {}", f.spec->name, f.failures.front());
    error_ = "tracing unavailable: " + why;
    probes_.clear();
    return;
  }
  impl->ncpus = libbpf_num_possible_cpus();
  if (impl->ncpus <= 0) {
    error_ = "tracing unavailable: cannot count possible CPUs";
    return;
  }
  if (auto why = open_syscall_log(*impl, filter_); !why.empty()) {
    error_ = "tracing unavailable: " + why;
    return;
  }
  if (filter_.timeline) {
    if (auto why = impl->timeline.open(impl->maps.fd("events"), filter_.timeline_max_events);
        !why.empty()) {
      error_ = "tracing unavailable: " + why;
      return;
    }
  }
  impl_ = std::move(impl);
}

Tracer::~Tracer() = default;

bool Tracer::start() {
  if (!ok()) return false;
  if (impl_->attached) return true;
  bool any = false;
  for (auto& f : impl_->families) {
    if (!f.ok()) continue;
    if (auto why = f.attach(); !why.empty()) {
      f.failures.push_back(why + " at start");
      f.destroy();
      probes_.push_back(fmt::format("skipped {}: {} at start", f.spec->name, why));
      continue;
    }
    any = true;
  }
  if (!any) {
    error_ = "tracing unavailable: attaching BPF programs failed";
    return false;
  }
  impl_->attached = true;
  if (filter_.program_stats && impl_->stats_fd < 0) {
    impl_->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (impl_->stats_fd < 0) probes_.push_back("skipped program stats: BPF_ENABLE_STATS refused");
  }
  return true;
}

void Tracer::stop() {
  if (!impl_) return;
  for (auto& f : impl_->families) f.detach();
  impl_->attached = false;
}

bool Tracer::add_pid(int pid) {
  if (!ok() || filter_.pids.empty()) return false;  // no tgid filter compiled in
  const __u32 key = pid;
  const __u8 one = 1;
  return bpf_map_update_elem(impl_->maps.fd("tgids"), &key, &one, BPF_ANY) == 0;
}

void Tracer::restart_unused() {
  if (!ok() || !impl_->inputs.unused_requested) return;
  const __u32 zero_key = 0;
  fl_gate g{};
  const int gate_fd = impl_->maps.fd("gate");
  if (bpf_map_lookup_elem(gate_fd, &zero_key, &g) != 0 || g.unused_pages == 0) return;
  // Zero every word (one batch update; element by element where the kernel
  // has no batch operations), then the count.
  const int fd = impl_->maps.fd("unused_bits");
  const __u32 n = impl_->bitmap_words;
  std::vector<__u32> keys(n);
  std::vector<__u64> zeros(n, 0);
  for (__u32 i = 0; i < n; ++i) keys[i] = i;
  __u32 count = n;
  if (bpf_map_update_batch(fd, keys.data(), zeros.data(), &count, nullptr) != 0)
    for (__u32 i = 0; i < n; ++i) bpf_map_update_elem(fd, &keys[i], &zeros[i], BPF_ANY);
  g.unused_pages = 0;
  bpf_map_update_elem(gate_fd, &zero_key, &g, BPF_ANY);
}

TraceCounters Tracer::snapshot() const {
  TraceCounters c;
  if (!ok()) return c;
  const int n = impl_->ncpus;
  std::uint64_t v[FL_NR_COUNTERS] = {};
  std::vector<__u64> percpu(n);
  const int cfd = impl_->maps.fd("counters");
  for (__u32 key = 0; key < FL_NR_COUNTERS; ++key) {
    if (bpf_map_lookup_elem(cfd, &key, percpu.data()) != 0) continue;
    for (int cpu = 0; cpu < n; ++cpu) v[key] += percpu[cpu];
  }
  fl_gate gate{};
  const __u32 zero = 0;
  bpf_map_lookup_elem(impl_->maps.fd("gate"), &zero, &gate);
  c.user_faults = v[FL_USER_FAULTS];
  c.mm_faults = v[FL_MM_FAULTS];
  c.major_faults = v[FL_MAJOR_FAULTS];
  c.fault_errors = v[FL_FAULT_ERRORS];
  c.filemap_faults = v[FL_FILEMAP_FAULTS];
  c.faultaround_calls = v[FL_FAULTAROUND_CALLS];
  c.faultaround_pages = v[FL_FAULTAROUND_PAGES];
  c.read_calls = v[FL_READ_CALLS];
  c.ra_sync = v[FL_RA_SYNC];
  c.ra_async = v[FL_RA_ASYNC];
  c.ra_order = v[FL_RA_ORDER];
  c.ra_unbounded = v[FL_RA_UNBOUNDED];
  c.ra_mmap_around = v[FL_RA_MMAP_AROUND];
  c.ra_requested_pages = v[FL_RA_REQUESTED];
  c.ra_pages = v[FL_RA_READ];
  c.ra_unused_evicted = v[FL_UNUSED_EVICTED];
  c.ra_unused_pages = std::uint64_t(std::max<__s64>(0, gate.unused_pages)) + c.ra_unused_evicted;
  c.ra_untracked = v[FL_UNUSED_BEYOND];
  c.pagecache_add_folios = v[FL_PC_ADD_FOLIOS];
  c.pagecache_add_pages = v[FL_PC_ADD_PAGES];
  c.pagecache_evict_folios = v[FL_PC_DEL_FOLIOS];
  c.pagecache_evict_pages = v[FL_PC_DEL_PAGES];
  c.bio_requests = v[FL_BIO_REQS];
  c.bio_bytes = v[FL_BIO_BYTES];
  c.bio_completed = v[FL_BIO_DONE];
  c.bio_other_files = v[FL_BIO_OTHER_FILE];
  c.timeline_events = v[FL_TIMELINE_EVENTS];
  c.dropped = v[FL_TIMELINE_DROPPED];
  c.forks_followed = v[FL_FORKS_FOLLOWED];

  Histogram* by_id[FL_NR_HISTS] = {
      &c.fault_ns,      &c.major_fault_ns,      &c.ra_size_pages,         &c.ra_async_pages,
      &c.ra_order_hist, &c.pagecache_add_order, &c.pagecache_evict_order, &c.bio_size_bytes,
      &c.bio_latency_ns};
  std::vector<fl_hist> hists(n);
  const int hfd = impl_->maps.fd("hists");
  for (__u32 key = 0; key < FL_NR_HISTS; ++key) {
    if (bpf_map_lookup_elem(hfd, &key, hists.data()) != 0) continue;
    for (int cpu = 0; cpu < n; ++cpu)
      for (int s = 0; s < kHistSlots; ++s) by_id[key]->slots[s] += hists[cpu].slots[s];
  }
  c.availability = availability();
  return c;
}

std::vector<ProgramStats> Tracer::program_stats() const {
  std::vector<ProgramStats> out;
  if (!ok()) return out;
  for (const auto& f : impl_->families) {
    if (!f.ok()) continue;
    for (bpf_program* prog : f.programs) {
      bpf_prog_info info = {};
      __u32 len = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) continue;
      out.push_back({bpf_program__section_name(prog), info.run_cnt, info.run_time_ns});
    }
  }
  return out;
}

std::size_t Tracer::poll_timeline(int timeout_ms) {
  if (!ok()) return 0;
  if (impl_->syscalls.is_open()) impl_->syscalls.poll(0);
  return impl_->timeline.poll(timeout_ms);
}

std::vector<TimelineEvent> Tracer::take_timeline() {
  return ok() ? impl_->timeline.take() : std::vector<TimelineEvent>{};
}

void Tracer::reset_timeline() {
  if (ok()) impl_->timeline.reset();
}

std::size_t Tracer::timeline_stride() const {
  return ok() ? impl_->timeline.stride() : 1;
}

std::uint64_t Tracer::timeline_seen() const {
  return ok() ? impl_->timeline.seen() : 0;
}

#else  // the same API, always unavailable.

struct Tracer::Impl {};

Tracer::Tracer(TraceFilter filter) : filter_(std::move(filter)) {
  error_ = "tracing unavailable: " + tracing_unavailable_reason().value_or("unknown");
}
Tracer::~Tracer() = default;
bool Tracer::start() {
  return false;
}
void Tracer::stop() {}
bool Tracer::add_pid(int) {
  return false;
}
void Tracer::restart_unused() {}
TraceCounters Tracer::snapshot() const {
  return {};
}
std::size_t Tracer::poll_timeline(int) {
  return 0;
}
std::vector<TimelineEvent> Tracer::take_timeline() {
  return {};
}
void Tracer::reset_timeline() {}
std::size_t Tracer::timeline_stride() const {
  return 1;
}
std::uint64_t Tracer::timeline_seen() const {
  return 0;
}
std::vector<ProgramStats> Tracer::program_stats() const {
  return {};
}
std::vector<SyscallEvent> Tracer::take_syscalls() {
  return {};
}
std::uint64_t Tracer::syscalls_dropped() const {
  return 0;
}
std::optional<std::string> Tracer::syscalls_unavailable() const {
  return error_;
}

#endif

Availability Tracer::availability() const {
  Availability a;
  if (!ok()) {  // nothing measured: every bpf_* metric says why
    for (const auto& info : faultline::metric::kAll)
      if (info.family.starts_with("bpf_")) a.not_measured_because(std::string(info.name), error_);
    return a;
  }
#if FAULTLINE_HAVE_BPF
  a = tracer_availability(impl_->families, impl_->inputs);
#endif
  return a;
}

}  // namespace faultline::bpf
