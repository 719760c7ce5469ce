#include "bpf/tracer.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#ifndef FAULTLINE_HAVE_BPF
#define FAULTLINE_HAVE_BPF 0
#endif

#if FAULTLINE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "bpf/loadtrace.h"
#include "loadtrace.skel.h"
#endif

namespace faultline::bpf {

std::uint64_t kernel_dev(std::uint64_t st_dev) {
  return (std::uint64_t(major(st_dev)) << 20) | minor(st_dev);
}

#if FAULTLINE_HAVE_BPF

namespace {

// libbpf talks only when FAULTLINE_BPF_DEBUG is set; its last warning is
// kept for error messages.
thread_local std::string g_last_libbpf_warning;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (std::getenv("FAULTLINE_BPF_DEBUG")) return vfprintf(stderr, format, args);
  if (level == LIBBPF_WARN) {
    char buf[512];
    vsnprintf(buf, sizeof buf, format, args);
    g_last_libbpf_warning = buf;
    while (!g_last_libbpf_warning.empty() && g_last_libbpf_warning.back() == '\n')
      g_last_libbpf_warning.pop_back();
  }
  return 0;
}

std::string_view kind_name(unsigned kind) {
  switch (kind) {
    case LT_EV_FILEMAP_FAULT:
      return "filemap_fault";
    case LT_EV_FAULTAROUND:
      return "faultaround";
    case LT_EV_MAJOR_FAULT:
      return "major_fault";
    case LT_EV_RA_SYNC:
      return "ra_sync";
    case LT_EV_RA_ASYNC:
      return "ra_async";
    case LT_EV_RA_ORDER:
      return "ra_order";
    case LT_EV_RA_UNBOUNDED:
      return "ra_unbounded";
    case LT_EV_PC_ADD:
      return "pagecache_add";
    case LT_EV_PC_DEL:
      return "pagecache_evict";
    case LT_EV_BIO_ISSUE:
      return "bio_issue";
    case LT_EV_BIO_DONE:
      return "bio_done";
    default:
      return "unknown";
  }
}

// What the running kernel's BTF offers.
class KernelBtf {
 public:
  KernelBtf() : btf_(btf__load_vmlinux_btf()) {
    if (libbpf_get_error(btf_)) btf_ = nullptr;
  }
  ~KernelBtf() { btf__free(btf_); }
  bool has_tracepoint(const char* name) const {
    return btf_ && btf__find_by_name_kind(btf_, fmt::format("btf_trace_{}", name).c_str(),
                                          BTF_KIND_TYPEDEF) >= 0;
  }
  bool has_function(const char* name) const {
    return btf_ && btf__find_by_name_kind(btf_, name, BTF_KIND_FUNC) >= 0;
  }

 private:
  struct btf* btf_;
};

enum class FaultProbe { kFentry, kKprobe, kNone };

std::size_t round_up_pow2(std::size_t v) {
  std::size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

struct Tracer::Impl {
  loadtrace_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<TimelineEvent> timeline;
  std::size_t timeline_cap = 0;  // 0 = unbounded
  std::size_t stride = 1;        // keep every stride-th event
  std::uint64_t seen = 0;        // events that arrived
  int ncpus = 1;

  std::vector<bpf_link*> links;
  std::vector<bpf_program*> attached;
  int stats_fd = -1;

  ~Impl() {
    if (stats_fd >= 0) close(stats_fd);
    detach();
    if (rb) ring_buffer__free(rb);
    if (skel) loadtrace_bpf__destroy(skel);
  }
  void detach() {
    for (bpf_link* link : links) bpf_link__destroy(link);
    links.clear();
  }

  static int on_event(void* ctx, void* data, size_t size) {
    if (size < sizeof(lt_event)) return 0;
    const auto* e = static_cast<const lt_event*>(data);
    auto* self = static_cast<Impl*>(ctx);
    const std::uint64_t n = self->seen++;
    if (n % self->stride) return 0;
    if (self->timeline_cap && self->timeline.size() >= self->timeline_cap) {
      // Full: keep every other kept event (those at multiples of 2 x stride).
      std::size_t j = 0;
      for (std::size_t i = 0; i < self->timeline.size(); i += 2)
        self->timeline[j++] = self->timeline[i];
      self->timeline.resize(j);
      self->stride *= 2;
      if (n % self->stride) return 0;
    }
    self->timeline.push_back(
        {e->ts_ns, e->tgid, kind_name(e->kind), e->ino, e->index, e->nr, e->value, e->order});
    return 0;
  }

  void reset_timeline() {
    if (rb)
      while (ring_buffer__consume(rb) > 0) {
      }
    timeline.clear();
    stride = 1;
    seen = 0;
    if (timeline_cap) {
      timeline.resize(timeline_cap);  // allocate and touch every page now
      timeline.clear();
    }
  }

  // Open, configure and load. `faults` picks how handle_mm_fault is probed:
  // fentry/fexit (BPF trampolines), kprobe/kretprobe, or not at all; the
  // caller tries them in that order (some kernels refuse trampolines).
  std::string load(const TraceFilter& f, const std::vector<lt_file_key>& files,
                   const KernelBtf& btf, FaultProbe faults, std::vector<std::string>& probes) {
    const bool with_fentry = faults == FaultProbe::kFentry;
    skel = loadtrace_bpf__open();
    if (!skel) return fmt::format("cannot open BPF object: {}", std::strerror(errno));
    probes.clear();
    auto* ro = skel->rodata;
    ro->filter_cgroup = f.cgroup_id.has_value();
    ro->cgroup_id = f.cgroup_id.value_or(0);
    ro->filter_tgid = !f.pids.empty();
    ro->filter_files = !files.empty();
    ro->timeline = f.timeline;
    ro->track_unused = f.track_unused && !files.empty();

    bpf_map__set_max_entries(skel->maps.tgids,
                             std::max<std::size_t>({1, f.max_pids, f.pids.size()}));
    bpf_map__set_max_entries(skel->maps.files, std::max<std::size_t>(1, files.size()));
    bpf_map__set_max_entries(skel->maps.unused, ro->track_unused ? f.max_unused_folios : 1);
    const std::size_t page = sysconf(_SC_PAGESIZE);
    bpf_map__set_max_entries(skel->maps.events,
                             f.timeline ? round_up_pow2(std::max(f.timeline_bytes, page)) : page);

    auto& p = skel->progs;
    auto tp = [&](bpf_program* prog, const char* name) {
      const bool has = btf.has_tracepoint(name);
      bpf_program__set_autoload(prog, has);
      if (has) probes.push_back(fmt::format("tp_btf/{}", name));
      return has;
    };
    auto fentry = [&](bpf_program* prog, const char* func, const char* label, bool want) {
      const bool on = want && with_fentry && btf.has_function(func);
      bpf_program__set_autoload(prog, on);
      if (on) probes.push_back(fmt::format("{}/{}", label, func));
      return on;
    };
    const bool mm = fentry(p.handle_mm_fault_entry, "handle_mm_fault", "fentry", true);
    fentry(p.handle_mm_fault_exit, "handle_mm_fault", "fexit", true);
    const bool kp = faults == FaultProbe::kKprobe && btf.has_function("handle_mm_fault");
    bpf_program__set_autoload(p.handle_mm_fault_kprobe, kp);
    bpf_program__set_autoload(p.handle_mm_fault_kretprobe, kp);
    if (kp) probes.push_back("kprobe+kretprobe/handle_mm_fault");
    // Without the x86 tracepoint, user faults come from fexit's flags.
    if (!tp(p.page_fault_user, "page_fault_user")) ro->user_faults_from_mm = mm;
    tp(p.mm_filemap_fault, "mm_filemap_fault");
    tp(p.mm_filemap_map_pages, "mm_filemap_map_pages");
    tp(p.mm_filemap_get_pages, "mm_filemap_get_pages");
    const bool ra_tp = tp(p.page_cache_sync_ra, "page_cache_sync_ra");
    tp(p.page_cache_async_ra, "page_cache_async_ra");
    tp(p.page_cache_ra_order, "page_cache_ra_order");
    tp(p.page_cache_ra_unbounded, "page_cache_ra_unbounded");
    fentry(p.fentry_sync_ra, "page_cache_sync_ra", "fentry", !ra_tp);
    fentry(p.fentry_async_ra, "page_cache_async_ra", "fentry", !ra_tp);
    fentry(p.fentry_ra_unbounded, "page_cache_ra_unbounded", "fentry", !ra_tp);
    tp(p.mm_filemap_add_to_page_cache, "mm_filemap_add_to_page_cache");
    tp(p.mm_filemap_delete_from_page_cache, "mm_filemap_delete_from_page_cache");
    ro->bio_at_start = tp(p.block_io_start, "block_io_start");
    tp(p.block_rq_issue, "block_rq_issue");
    tp(p.block_rq_complete, "block_rq_complete");

    g_last_libbpf_warning.clear();
    if (int err = loadtrace_bpf__load(skel)) {
      std::string why = fmt::format("loading BPF programs failed: {}", std::strerror(-err));
      if (!g_last_libbpf_warning.empty()) why += " (" + g_last_libbpf_warning + ")";
      loadtrace_bpf__destroy(skel);
      skel = nullptr;
      return why;
    }
    const __u8 one = 1;
    for (int pid : f.pids) {
      __u32 key = pid;
      bpf_map_update_elem(bpf_map__fd(skel->maps.tgids), &key, &one, BPF_ANY);
    }
    for (const auto& key : files)
      bpf_map_update_elem(bpf_map__fd(skel->maps.files), &key, &one, BPF_ANY);
    if (f.timeline) {
      rb = ring_buffer__new(bpf_map__fd(skel->maps.events), &Impl::on_event, this, nullptr);
      if (!rb) return fmt::format("cannot open the timeline ring buffer: {}", std::strerror(errno));
    }
    ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return "cannot count possible CPUs";
    return "";
  }
};

Tracer::Tracer(TraceFilter filter) : filter_(std::move(filter)) {
  static const bool print_set = (libbpf_set_print(libbpf_print), true);
  (void)print_set;
  if (auto why = tracing_unavailable_reason()) {
    error_ = "tracing unavailable: " + *why;
    return;
  }
  std::vector<lt_file_key> files;
  std::vector<std::string> file_notes;
  for (const auto& path : filter_.files) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      error_ = fmt::format("tracing unavailable: --file {}: {}", path, std::strerror(errno));
      return;
    }
    files.push_back({kernel_dev(st.st_dev), st.st_ino});
    // The kernel's page cache sees the inode of the file system that holds
    // the data: on overlayfs (containers) that is the lower/upper file, on
    // btrfs st_dev is a per-subvolume number. Say so rather than count 0.
    struct statfs fs;
    if (statfs(path.c_str(), &fs) == 0 && (fs.f_type == 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */ ||
                                           fs.f_type == 0x9123683e /* BTRFS_SUPER_MAGIC */))
      file_notes.push_back(fmt::format(
          "warning: {} is on {}: the (device, inode) the kernel sees may differ, file-filtered "
          "counts may stay 0",
          path, fs.f_type == 0x794c7630 ? "overlayfs" : "btrfs"));
  }
  KernelBtf btf;
  std::string first_error;
  // Richest first: fault latency by trampolines, then kprobes, then none;
  // and, should all fail, once more without "unused" tracking (it needs
  // bpf_find_vma, Linux 5.17+).
  const bool wanted_unused = filter_.track_unused;
  const std::vector<bool> unused_modes =
      wanted_unused ? std::vector<bool>{true, false} : std::vector<bool>{false};
  for (bool unused : unused_modes) {
    TraceFilter f = filter_;
    f.track_unused = unused;
    for (FaultProbe faults : {FaultProbe::kFentry, FaultProbe::kKprobe, FaultProbe::kNone}) {
      impl_ = std::make_unique<Impl>();
      impl_->timeline_cap = filter_.timeline ? filter_.timeline_max_events : 0;
      std::string why = impl_->load(f, files, btf, faults, probes_);
      if (why.empty()) {
        for (const auto& note : file_notes) probes_.push_back(note);
        if (wanted_unused && !unused)
          probes_.push_back("skipped unused-readahead tracking: " + first_error);
        filter_.track_unused = unused;
        return;
      }
      if (first_error.empty()) first_error = why;
    }
  }
  impl_.reset();
  probes_.clear();
  error_ = "tracing unavailable: " + first_error;
}

Tracer::~Tracer() = default;

bool Tracer::start() {
  if (!ok()) return false;
  if (!impl_->links.empty()) return true;
  impl_->attached.clear();
  // Attach one by one: a probe the kernel refuses is reported in probes()
  // as "skipped ..." and left out; only when nothing attaches does start()
  // fail. probes() then lists what is really attached.
  bpf_program* prog;
  std::string first_error;
  std::vector<std::string> attached, skipped;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    if (!bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      const int err = errno;
      std::string why = fmt::format("{}: {}", bpf_program__section_name(prog), std::strerror(err));
      if (first_error.empty()) first_error = why;
      skipped.push_back("skipped " + why);
      continue;
    }
    impl_->links.push_back(link);
    impl_->attached.push_back(prog);
    attached.push_back(bpf_program__section_name(prog));
  }
  for (const auto& p : probes_)  // notes from loading stay
    if (p.rfind("skipped", 0) == 0 || p.rfind("warning", 0) == 0) skipped.push_back(p);
  probes_ = attached;
  probes_.insert(probes_.end(), skipped.begin(), skipped.end());
  if (filter_.program_stats && impl_->stats_fd < 0) {
    impl_->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (impl_->stats_fd < 0) probes_.push_back("skipped program stats: BPF_ENABLE_STATS refused");
  }
  if (impl_->links.empty()) {
    error_ = "tracing unavailable: attaching BPF programs failed: " + first_error;
    return false;
  }
  return true;
}

void Tracer::stop() {
  if (impl_) impl_->detach();
}

bool Tracer::add_pid(int pid) {
  if (!ok() || filter_.pids.empty()) return false;  // no tgid filter compiled in
  const __u32 key = pid;
  const __u8 one = 1;
  return bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.tgids), &key, &one, BPF_ANY) == 0;
}

TraceCounters Tracer::snapshot() const {
  TraceCounters c;
  if (!ok()) return c;
  const int n = impl_->ncpus;
  std::uint64_t v[LT_NR_COUNTERS] = {};
  std::vector<__u64> percpu(n);
  const int cfd = bpf_map__fd(impl_->skel->maps.counters);
  for (__u32 key = 0; key < LT_NR_COUNTERS; ++key) {
    if (bpf_map_lookup_elem(cfd, &key, percpu.data()) != 0) continue;
    for (int cpu = 0; cpu < n; ++cpu) v[key] += percpu[cpu];
  }
  c.user_faults = v[LT_USER_FAULTS];
  c.mm_faults = v[LT_MM_FAULTS];
  c.major_faults = v[LT_MAJOR_FAULTS];
  c.filemap_faults = v[LT_FILEMAP_FAULTS];
  c.faultaround_calls = v[LT_FAULTAROUND_CALLS];
  c.faultaround_pages = v[LT_FAULTAROUND_PAGES];
  c.read_calls = v[LT_READ_CALLS];
  c.ra_sync = v[LT_RA_SYNC];
  c.ra_async = v[LT_RA_ASYNC];
  c.ra_order = v[LT_RA_ORDER];
  c.ra_unbounded = v[LT_RA_UNBOUNDED];
  c.ra_mmap_around = v[LT_RA_MMAP_AROUND];
  c.ra_pages = v[LT_RA_PAGES];
  c.ra_unused_evicted = v[LT_RA_UNUSED_EVICTED];
  c.ra_unused_pages = v[LT_RA_UNUSED_RESIDENT] + v[LT_RA_UNUSED_EVICTED];
  c.ra_untracked = v[LT_RA_TRACK_FULL];
  c.pagecache_add_folios = v[LT_PC_ADD_FOLIOS];
  c.pagecache_add_pages = v[LT_PC_ADD_PAGES];
  c.pagecache_evict_folios = v[LT_PC_DEL_FOLIOS];
  c.pagecache_evict_pages = v[LT_PC_DEL_PAGES];
  c.bio_requests = v[LT_BIO_REQS];
  c.bio_bytes = v[LT_BIO_BYTES];
  c.bio_completed = v[LT_BIO_DONE];
  c.timeline_events = v[LT_TIMELINE_EVENTS];
  c.dropped = v[LT_TIMELINE_DROPPED];

  Histogram* by_id[LT_NR_HISTS] = {};
  by_id[LT_H_FAULT_NS] = &c.fault_ns;
  by_id[LT_H_MAJOR_NS] = &c.major_fault_ns;
  by_id[LT_H_RA_PAGES] = &c.ra_size_pages;
  by_id[LT_H_RA_ASYNC] = &c.ra_async_pages;
  by_id[LT_H_RA_ORDER] = &c.ra_order_hist;
  by_id[LT_H_PC_ADD_ORDER] = &c.pagecache_add_order;
  by_id[LT_H_PC_DEL_ORDER] = &c.pagecache_evict_order;
  by_id[LT_H_BIO_BYTES] = &c.bio_size_bytes;
  by_id[LT_H_BIO_NS] = &c.bio_latency_ns;
  std::vector<lt_hist> hists(n);
  const int hfd = bpf_map__fd(impl_->skel->maps.hists);
  for (__u32 key = 0; key < LT_NR_HISTS; ++key) {
    if (bpf_map_lookup_elem(hfd, &key, hists.data()) != 0) continue;
    for (int cpu = 0; cpu < n; ++cpu)
      for (int s = 0; s < kHistSlots; ++s) by_id[key]->slots[s] += hists[cpu].slots[s];
  }
  return c;
}

std::vector<ProgramStats> Tracer::program_stats() const {
  std::vector<ProgramStats> out;
  if (!ok()) return out;
  for (bpf_program* prog : impl_->attached) {
    bpf_prog_info info = {};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) continue;
    out.push_back({bpf_program__section_name(prog), info.run_cnt, info.run_time_ns});
  }
  return out;
}

std::size_t Tracer::poll_timeline(int timeout_ms) {
  if (!ok() || !impl_->rb) return 0;
  const std::size_t before = impl_->timeline.size();
  ring_buffer__poll(impl_->rb, timeout_ms);
  return impl_->timeline.size() - before;
}

std::vector<TimelineEvent> Tracer::take_timeline() {
  if (!ok()) return {};
  return std::exchange(impl_->timeline, {});
}

void Tracer::reset_timeline() {
  if (ok()) impl_->reset_timeline();
}

std::size_t Tracer::timeline_stride() const {
  return ok() ? impl_->stride : 1;
}

std::uint64_t Tracer::timeline_seen() const {
  return ok() ? impl_->seen : 0;
}

#endif

// TODO(evidence): per-family availability; until then, what attached.
Availability Tracer::availability() const {
  Availability a;
  for (const auto& p : probes_)
    if (p.rfind("skipped", 0) != 0 && p.rfind("warning", 0) != 0) a.add_probe(p);
  return a;
}

#if !FAULTLINE_HAVE_BPF  // the same API, always unavailable.

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

#endif

}  // namespace faultline::bpf
