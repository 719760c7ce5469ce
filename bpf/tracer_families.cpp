// The probe families and the mechanisms each can use, in the order they
// are tried (bpf/tracer_loader.h); the skeletons CMake generates.
#include <sys/mman.h>
#include <sys/syscall.h>

#include "block.skel.h"
#include "bpf/tracer_loader.h"
#include "faults.skel.h"
#include "maps.skel.h"
#include "pagecache.skel.h"
#include "readahead.skel.h"
#include "schema/metrics.h"
#include "syscall_log.skel.h"
#include "syscalls.skel.h"
#include "tasks.skel.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

namespace faultline::bpf::detail {
namespace {

// Every object has the common read-only globals (common.bpf.h); a few have
// their own.
template <class Skel>
void configure(Skel* s, const Config& c) {
  auto* ro = s->rodata;
  ro->filter_cgroup = c.filter_cgroup;
  ro->filter_tgid = c.filter_tgid;
  ro->filter_files = c.filter_files;
  ro->timeline = c.timeline;
  ro->track_unused = c.track_unused;
  if constexpr (requires { ro->user_faults_from_mm; })
    ro->user_faults_from_mm = c.user_faults_from_mm;
  if constexpr (requires { ro->bio_at_start; }) ro->bio_at_start = c.bio_at_start;
  if constexpr (requires { ro->map_populate; }) {
    ro->nr_mmap = SYS_mmap;
    ro->nr_madvise = SYS_madvise;
    ro->nr_mlock = SYS_mlock;
    ro->nr_mlock2 = SYS_mlock2;
    ro->nr_munmap = SYS_munmap;
    ro->nr_mremap = SYS_mremap;
    ro->nr_mprotect = SYS_mprotect;
    ro->map_populate = MAP_POPULATE;
    ro->map_locked = MAP_LOCKED;
    ro->madv_populate_read = MADV_POPULATE_READ;
    ro->madv_populate_write = MADV_POPULATE_WRITE;
    ro->mlock_onfault = MLOCK_ONFAULT;
  }
  if constexpr (requires { ro->nr_openat; }) {  // syscall_log.bpf.c
    ro->nr_openat = SYS_openat;
#ifdef SYS_open
    ro->nr_open = SYS_open;
#endif
    ro->nr_read = SYS_read;
    ro->nr_pread64 = SYS_pread64;
    ro->nr_readv = SYS_readv;
    ro->nr_preadv = SYS_preadv;
    ro->nr_mmap = SYS_mmap;
    ro->nr_munmap = SYS_munmap;
    ro->nr_madvise = SYS_madvise;
    ro->nr_mlock = SYS_mlock;
    ro->nr_mlock2 = SYS_mlock2;
    ro->nr_fadvise64 = SYS_fadvise64;
    ro->nr_close = SYS_close;
    bpf_map__set_max_entries(s->maps.sc_events, c.syscall_ring_bytes);
  }
}

#define FL_SKEL_OPS(name)                                                    \
  const SkelOps name##_skel = {                                              \
      #name,                                                                 \
      [](const Config& c) -> void* {                                         \
        auto* s = name##_bpf__open();                                        \
        if (s) configure(s, c);                                              \
        return s;                                                            \
      },                                                                     \
      [](void* s) { return static_cast<name##_bpf*>(s)->obj; },              \
      [](void* s) { return name##_bpf__load(static_cast<name##_bpf*>(s)); }, \
      [](void* s) { name##_bpf__destroy(static_cast<name##_bpf*>(s)); },     \
  }

FL_SKEL_OPS(maps);
FL_SKEL_OPS(faults);
FL_SKEL_OPS(readahead);
FL_SKEL_OPS(pagecache);
FL_SKEL_OPS(block);
FL_SKEL_OPS(syscalls);
FL_SKEL_OPS(syscall_log);
FL_SKEL_OPS(tasks);

}  // namespace

const SkelOps& maps_ops() {
  return maps_skel;
}

const Families& families() {
  namespace m = faultline::metric;
  static const Families f = {
      m::find(m::kBpfUserFaults)->family,        m::find(m::kBpfFilemapFaults)->family,
      m::find(m::kBpfFaultP50Us)->family,        m::find(m::kBpfRaSync)->family,
      m::find(m::kBpfPagecacheAddPages)->family, m::find(m::kBpfBioBytes)->family,
      m::find(m::kBpfRaUnusedPages)->family,     m::find(m::kBpfDropped)->family,
  };
  return f;
}

const std::vector<FamilySpec>& family_specs() {
  const Families& f = families();
  static const std::vector<FamilySpec> specs = {
      {f.faults_user,
       &faults_skel,
       {{"tp_btf", {"page_fault_user"}, {"page_fault_user"}, {}}},
       true},
      {f.faults_filemap,
       &faults_skel,
       {{"tp_btf",
         {"mm_filemap_fault", "mm_filemap_map_pages", "mm_filemap_get_pages"},
         {"mm_filemap_fault", "mm_filemap_map_pages", "mm_filemap_get_pages"},
         {}}},
       true},
      {f.fault_latency,
       &faults_skel,
       {{"fentry", {"handle_mm_fault_entry", "handle_mm_fault_exit"}, {}, {"handle_mm_fault"}},
        {"kprobe",
         {"handle_mm_fault_kprobe", "handle_mm_fault_kretprobe"},
         {},
         {"handle_mm_fault"}}},
       false},
      {f.readahead,
       &readahead_skel,
       {{"tp_btf",
         {"page_cache_sync_ra", "page_cache_async_ra", "page_cache_ra_order",
          "page_cache_ra_unbounded"},
         {"page_cache_sync_ra", "page_cache_async_ra", "page_cache_ra_order",
          "page_cache_ra_unbounded"},
         {}},
        {"fentry",
         {"fentry_sync_ra", "fentry_async_ra", "fentry_ra_order", "fentry_ra_unbounded"},
         {},
         {"page_cache_sync_ra", "page_cache_async_ra", "page_cache_ra_order",
          "page_cache_ra_unbounded"}},
        {"kprobe",
         {"kprobe_sync_ra", "kprobe_async_ra", "kprobe_ra_order", "kprobe_ra_unbounded"},
         {},
         {"page_cache_sync_ra", "page_cache_async_ra", "page_cache_ra_order",
          "page_cache_ra_unbounded"}}},
       false},
      {f.pagecache,
       &pagecache_skel,
       {{"tp_btf",
         {"mm_filemap_add_to_page_cache", "mm_filemap_delete_from_page_cache"},
         {"mm_filemap_add_to_page_cache", "mm_filemap_delete_from_page_cache"},
         {}}},
       true},
      {f.block,
       &block_skel,
       {{"tp_btf",
         {"block_io_start", "block_rq_issue", "block_rq_complete"},
         {"block_io_start", "block_rq_issue", "block_rq_complete"},
         {},
         true},
        {"tp_btf",
         {"block_rq_issue", "block_rq_complete"},
         {"block_rq_issue", "block_rq_complete"},
         {}}},
       false},
      {"syscalls",
       &syscalls_skel,
       {{"tp_btf", {"sys_enter", "sys_exit"}, {"sys_enter", "sys_exit"}, {}}},
       true},
      {"syscall_log",
       &syscall_log_skel,
       {{"tp_btf", {"sc_enter", "sc_exit"}, {"sys_enter", "sys_exit"}, {}}},
       false},
      {"forks",
       &tasks_skel,
       {{"tp_btf", {"sched_process_fork"}, {"sched_process_fork"}, {}}},
       false},
  };
  return specs;
}

}  // namespace faultline::bpf::detail
