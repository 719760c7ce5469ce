// SPDX-License-Identifier: GPL-2.0
/* loadtrace: page faults, readahead, page cache and block I/O of the traced
 * tasks and files, counted in the kernel. Loaded by bpf/tracer.cpp.
 *
 * Filters (set before load): a task passes when no task filter is set, or
 * when its cgroup v2 id equals cgroup_id, or when its tgid is in `tgids`
 * (either one suffices). A file passes when no file filter is set or when its
 * (dev, ino) is in `files`. Every program checks its filters first and
 * returns before touching any other map when they fail.
 *
 * Attribution per event:
 *  - faults, readahead, page-cache insertions: the task that runs them (task
 *    filter) and, for file events, the file (file filter);
 *  - page-cache deletions: file filter only (eviction runs in kswapd, in
 *    fadvise callers, at truncation: not in the traced task);
 *  - block requests: the task that submits them (task filter where a bio
 *    becomes a request, block_io_start); issue and completion, wherever
 *    they run, are matched to it by request pointer. Writeback by kernel
 *    threads is never attributed to the traced tasks.
 *
 * "Unused readahead pages" (track_unused, only with a file filter): every
 * folio the traced tasks add to the page cache of a traced file is put in
 * `unused` unless the task is right now faulting or reading that range; any
 * later user fault in it (page_fault_user + bpf_find_vma, which also sees
 * folios that fault-around maps whole with a PMD, where no filemap
 * tracepoint fires), filemap fault, fault-around window or read() batch
 * touching the folio removes it. Pages of folios in the map are
 * LT_RA_UNUSED_RESIDENT; at eviction they move to LT_RA_UNUSED_EVICTED
 * unless the kernel's own PG_referenced/PG_active bits say they were used;
 * the sum is "readahead pages never used". "Used" means mapped into a page
 * table or copied by read(): a page that fault-around mapped but nobody
 * touched counts as used. On read-only model files every insertion not
 * directly faulted/read comes from readahead, hence the name.
 */
/* Programs are tp_btf/fentry (BTF-typed arguments): fields are read by
 * plain CO-RE-relocated dereferences, which the verifier turns into
 * fault-safe loads, cheaper than bpf_probe_read_kernel calls. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "loadtrace.h"

#define MAX_TRACKED_ORDER 12 /* folios up to 16 MiB */
#define MAX_RANGE_SCAN 64    /* pages per access event scanned for "unused" */
#define VM_FAULT_MAJOR_BIT 4 /* enum vm_fault_reason, stable since 2.6 */

const volatile bool filter_cgroup = false;
const volatile __u64 cgroup_id = 0;
const volatile bool filter_tgid = false;
const volatile bool filter_files = false;
const volatile bool timeline = false;
const volatile bool track_unused = false;
/* No exceptions:page_fault_user (not x86): count user faults in fexit. */
const volatile bool user_faults_from_mm = false;
/* block:block_io_start exists: requests are claimed there (see block I/O). */
const volatile bool bio_at_start = false;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1); /* resized by user space */
  __type(key, __u32);
  __type(value, __u8);
} tgids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct lt_file_key);
  __type(value, __u8);
} files SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LT_NR_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LT_NR_HISTS);
  __type(key, __u32);
  __type(value, struct lt_hist);
} hists SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lt_folio_key);
  __type(value, __u32); /* pages in the folio */
} unused SEC(".maps");

struct rq_start {
  __u64 ts;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH); /* requests never completed age out */
  __uint(max_entries, 8192);
  __type(key, __u64); /* struct request * */
  __type(value, struct rq_start);
} rqs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096); /* resized by user space */
} events SEC(".maps");

/* Per-task scratch state: fault start time, the range being faulted/read,
 * and the readahead call in progress (to tell read-around from sync/async
 * and to not count fallback pages twice). */
struct task_state {
  __u64 fault_start_ns;
  __u64 access_mapping;
  __u64 access_lo, access_hi;
  __u64 order_inode;
  __u64 order_index;
  __u64 order_nr;
  __u32 ra_pending; /* LT_EV_RA_SYNC / LT_EV_RA_ASYNC / 0 */
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_state);
} task_states SEC(".maps");

__u32 max_order_seen = 0;
/* Folios in `unused` right now: access events skip all lookups when 0 (a
 * warm fault storm then pays nothing for "unused" tracking). */
__u64 unused_folios = 0;

static __always_inline bool task_ok(void)
{
  if (!filter_cgroup && !filter_tgid)
    return true;
  if (filter_cgroup && bpf_get_current_cgroup_id() == cgroup_id)
    return true;
  if (filter_tgid) {
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bpf_map_lookup_elem(&tgids, &tgid))
      return true;
  }
  return false;
}

static __always_inline bool inode_ok(struct inode *inode, __u64 *ino)
{
  *ino = inode->i_ino;
  if (!filter_files)
    return true;
  struct lt_file_key key = {
      .dev = inode->i_sb->s_dev,
      .ino = *ino,
  };
  return bpf_map_lookup_elem(&files, &key) != NULL;
}

static __always_inline void count(enum lt_counter c, __u64 v)
{
  __u32 key = c;
  __u64 *p = bpf_map_lookup_elem(&counters, &key);
  if (p)
    *p += v;
}

static __always_inline __u32 log2_u64(__u64 v)
{
  __u32 r = 0;
  if (v >> 32) { v >>= 32; r += 32; }
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) { r += 1; }
  return r;
}

/* slot = linear value (orders) or log2 bucket (0 -> slot 0). */
static __always_inline void hist_slot(enum lt_hist_id id, __u32 slot)
{
  __u32 key = id;
  struct lt_hist *h = bpf_map_lookup_elem(&hists, &key);
  if (!h)
    return;
  if (slot >= LT_HIST_SLOTS)
    slot = LT_HIST_SLOTS - 1;
  h->slots[slot]++;
}

static __always_inline void hist_log2(enum lt_hist_id id, __u64 v)
{
  hist_slot(id, v ? log2_u64(v) + 1 : 0); /* slot k>0: [2^(k-1), 2^k) */
}

static __always_inline void emit(__u16 kind, __u64 ino, __u64 index, __u64 nr, __u64 value,
                                 __u16 order)
{
  if (!timeline)
    return;
  struct lt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count(LT_TIMELINE_DROPPED, 1);
    return;
  }
  e->ts_ns = bpf_ktime_get_ns();
  e->ino = ino;
  e->index = index;
  e->nr = nr;
  e->value = value;
  e->tgid = bpf_get_current_pid_tgid() >> 32;
  e->kind = kind;
  e->order = order;
  bpf_ringbuf_submit(e, 0);
  count(LT_TIMELINE_EVENTS, 1);
}

static __always_inline struct task_state *state(bool create)
{
  return bpf_task_storage_get(&task_states, bpf_get_current_task_btf(), 0,
                              create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* Order of a folio: 0 unless PG_head, then the low byte of _flags_1. */
static __always_inline __u32 folio_order_of(struct folio *folio)
{
  unsigned long flags = 0, flags1 = 0;
  bpf_probe_read_kernel(&flags, sizeof(flags), &folio->flags);
  if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
    return 0;
  bpf_probe_read_kernel(&flags1, sizeof(flags1), &folio->_flags_1);
  return flags1 & 0xff;
}

/* ---- "unused" bookkeeping ------------------------------------------------ */

/* Drop a folio from `unused`; its pages leave LT_RA_UNUSED_RESIDENT (u64 sums
 * wrap, so adding the two's complement subtracts) and, at eviction, go to
 * LT_RA_UNUSED_EVICTED. Only the CPU whose delete succeeds accounts. */
static __always_inline void forget_unused(struct lt_folio_key *key, enum lt_counter to)
{
  __u32 *pages = bpf_map_lookup_elem(&unused, key);
  if (!pages)
    return;
  __u64 nr = *pages;
  if (bpf_map_delete_elem(&unused, key))
    return;
  __sync_fetch_and_add(&unused_folios, -1);
  count(LT_RA_UNUSED_RESIDENT, -nr);
  if (to != LT_RA_UNUSED_RESIDENT)
    count(to, nr);
}

/* The kernel's own "was used" bits: PG_referenced / PG_active are set when
 * read() copies a folio or when an unmap finds its PTE young. */
static __always_inline bool folio_was_referenced(struct folio *folio)
{
  unsigned long flags = 0;
  bpf_probe_read_kernel(&flags, sizeof(flags), &folio->flags);
  return flags & ((1UL << bpf_core_enum_value(enum pageflags, PG_referenced)) |
                  (1UL << bpf_core_enum_value(enum pageflags, PG_active)));
}

static __always_inline void mark_access(struct address_space *mapping, __u64 lo, __u64 hi)
{
  if (!track_unused)
    return;
  struct task_state *st = state(true);
  if (st) {
    st->access_mapping = (__u64)mapping;
    st->access_lo = lo;
    st->access_hi = hi;
  }
  if (!unused_folios)
    return;
  struct lt_folio_key key = {.mapping = (__u64)mapping};
  __u32 max_order = max_order_seen;
  /* The folio holding `lo` may start before it. */
  for (__u32 order = 0; order <= MAX_TRACKED_ORDER; order++) {
    if (order > max_order)
      break;
    key.index = lo & ~((1ULL << order) - 1);
    forget_unused(&key, LT_RA_UNUSED_RESIDENT);
  }
  /* Folios starting inside (lo, hi]. */
  for (__u32 i = 1; i < MAX_RANGE_SCAN; i++) {
    if (lo + i > hi)
      break;
    key.index = lo + i;
    forget_unused(&key, LT_RA_UNUSED_RESIDENT);
  }
}

/* ---- page faults --------------------------------------------------------- */

/* bpf_find_vma callback: the faulting address is in a file mapping of a
 * traced file: mark its page as used. This catches folios that fault-around
 * maps whole with a PMD, for which no filemap tracepoint fires. */
static long fault_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
  __u64 address = *(__u64 *)data;
  struct file *file = vma->vm_file;
  if (!file)
    return 0;
  struct address_space *mapping = file->f_mapping;
  __u64 ino;
  if (!mapping || !inode_ok(mapping->host, &ino))
    return 0;
  __u64 index = vma->vm_pgoff + ((address - vma->vm_start) >> 12);
  mark_access(mapping, index, index);
  return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs,
             unsigned long error_code)
{
  if (!task_ok())
    return 0;
  count(LT_USER_FAULTS, 1);
  if (track_unused && unused_folios) {
    __u64 addr = address;
    bpf_find_vma(bpf_get_current_task_btf(), addr, fault_vma_cb, &addr, 0);
  }
  return 0;
}

static __always_inline void fault_entry(void)
{
  if (!task_ok())
    return;
  struct task_state *st = state(true);
  if (st)
    st->fault_start_ns = bpf_ktime_get_ns();
}

static __always_inline void fault_exit(unsigned long address, unsigned int flags, __u64 ret)
{
  struct task_state *st = state(false);
  if (!st || !st->fault_start_ns)
    return; /* not a traced task (or attached mid-fault) */
  __u64 ns = bpf_ktime_get_ns() - st->fault_start_ns;
  st->fault_start_ns = 0;
  count(LT_MM_FAULTS, 1);
  if (user_faults_from_mm && (flags & bpf_core_enum_value(enum fault_flag, FAULT_FLAG_USER)))
    count(LT_USER_FAULTS, 1);
  hist_log2(LT_H_FAULT_NS, ns);
  if (ret & VM_FAULT_MAJOR_BIT) {
    count(LT_MAJOR_FAULTS, 1);
    hist_log2(LT_H_MAJOR_NS, ns);
    emit(LT_EV_MAJOR_FAULT, 0, address >> 12, 1, ns, 0);
  }
}

/* Fault latency and major/minor: fentry/fexit where BPF trampolines work,
 * else kprobe/kretprobe (user space picks one pair at load time). The
 * kretprobe has no arguments: user faults then come from page_fault_user. */
SEC("fentry/handle_mm_fault")
int BPF_PROG(handle_mm_fault_entry, struct vm_area_struct *vma, unsigned long address,
             unsigned int flags)
{
  fault_entry();
  return 0;
}

SEC("fexit/handle_mm_fault")
int BPF_PROG(handle_mm_fault_exit, struct vm_area_struct *vma, unsigned long address,
             unsigned int flags, struct pt_regs *regs, vm_fault_t ret)
{
  fault_exit(address, flags, ret);
  return 0;
}

SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(handle_mm_fault_kprobe)
{
  fault_entry();
  return 0;
}

SEC("kretprobe/handle_mm_fault")
int BPF_KRETPROBE(handle_mm_fault_kretprobe, vm_fault_t ret)
{
  fault_exit(0, 0, ret);
  return 0;
}

SEC("tp_btf/mm_filemap_fault")
int BPF_PROG(mm_filemap_fault, struct address_space *mapping, unsigned long index)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(mapping->host, &ino))
    return 0;
  count(LT_FILEMAP_FAULTS, 1);
  mark_access(mapping, index, index);
  emit(LT_EV_FILEMAP_FAULT, ino, index, 1, 0, 0);
  return 0;
}

SEC("tp_btf/mm_filemap_map_pages")
int BPF_PROG(mm_filemap_map_pages, struct address_space *mapping, unsigned long start,
             unsigned long last)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(mapping->host, &ino))
    return 0;
  __u64 nr = last >= start ? last - start + 1 : 0;
  count(LT_FAULTAROUND_CALLS, 1);
  count(LT_FAULTAROUND_PAGES, nr);
  mark_access(mapping, start, last);
  emit(LT_EV_FAULTAROUND, ino, start, nr, 0, 0);
  return 0;
}

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(mm_filemap_get_pages, struct address_space *mapping, unsigned long index,
             unsigned long last)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(mapping->host, &ino))
    return 0;
  count(LT_READ_CALLS, 1);
  mark_access(mapping, index, last);
  return 0;
}

/* ---- readahead: tracepoints (6.14+) ---------------------------------------- */

static __always_inline int on_sync_async(struct inode *inode, unsigned long index,
                                         unsigned long req, __u32 kind)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(inode, &ino))
    return 0;
  count(kind == LT_EV_RA_SYNC ? LT_RA_SYNC : LT_RA_ASYNC, 1);
  struct task_state *st = state(true);
  if (st)
    st->ra_pending = kind;
  emit(kind, ino, index, req, 0, 0);
  return 0;
}

SEC("tp_btf/page_cache_sync_ra")
int BPF_PROG(page_cache_sync_ra, struct inode *inode, unsigned long index,
             struct file_ra_state *ra, unsigned long req)
{
  return on_sync_async(inode, index, req, LT_EV_RA_SYNC);
}

SEC("tp_btf/page_cache_async_ra")
int BPF_PROG(page_cache_async_ra, struct inode *inode, unsigned long index,
             struct file_ra_state *ra, unsigned long req)
{
  return on_sync_async(inode, index, req, LT_EV_RA_ASYNC);
}

SEC("tp_btf/page_cache_ra_order")
int BPF_PROG(page_cache_ra_order, struct inode *inode, unsigned long index,
             struct file_ra_state *ra)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(inode, &ino))
    return 0;
  __u64 start = ra->start;
  __u64 size = ra->size;
  __u64 async = ra->async_size;
  __u32 order = ra->order;
  __u64 nr = (index >= start && index - start < size) ? size - (index - start) : size;
  count(LT_RA_ORDER, 1);
  count(LT_RA_PAGES, nr);
  hist_log2(LT_H_RA_PAGES, nr);
  hist_log2(LT_H_RA_ASYNC, async);
  hist_slot(LT_H_RA_ORDER, order);
  struct task_state *st = state(true);
  if (st) {
    if (!st->ra_pending)
      count(LT_RA_MMAP_AROUND, 1);
    st->ra_pending = 0;
    st->order_inode = (__u64)inode;
    st->order_index = index;
    st->order_nr = nr;
  }
  emit(LT_EV_RA_ORDER, ino, index, nr, async, order);
  return 0;
}

static __always_inline int on_unbounded(struct inode *inode, unsigned long index,
                                        unsigned long nr, unsigned long lookahead)
{
  __u64 ino;
  if (!task_ok() || !inode_ok(inode, &ino))
    return 0;
  count(LT_RA_UNBOUNDED, 1);
  struct task_state *st = state(true);
  if (st && st->order_inode == (__u64)inode && st->order_index == index) {
    /* page_cache_ra_order fell back to order-0 pages: already counted there,
     * correct for the clamp at end of file (u64 sums wrap as intended). */
    count(LT_RA_PAGES, nr - st->order_nr);
    st->order_inode = 0;
  } else {
    count(LT_RA_PAGES, nr);
    hist_log2(LT_H_RA_PAGES, nr);
    hist_log2(LT_H_RA_ASYNC, lookahead);
    hist_slot(LT_H_RA_ORDER, 0);
  }
  if (st)
    st->ra_pending = 0;
  emit(LT_EV_RA_UNBOUNDED, ino, index, nr, lookahead, 0);
  return 0;
}

SEC("tp_btf/page_cache_ra_unbounded")
int BPF_PROG(page_cache_ra_unbounded, struct inode *inode, unsigned long index,
             unsigned long nr, unsigned long lookahead)
{
  return on_unbounded(inode, index, nr, lookahead);
}

/* ---- readahead: fentry fallback for kernels without the tracepoints -------
 * Only the first argument (struct readahead_control *) and, for unbounded,
 * nr_to_read/lookahead_size have been stable since 5.10. */

static __always_inline struct inode *ractl_inode(struct readahead_control *ractl)
{
  return ractl->mapping->host;
}

SEC("fentry/page_cache_sync_ra")
int BPF_PROG(fentry_sync_ra, struct readahead_control *ractl)
{
  return on_sync_async(ractl_inode(ractl), ractl->_index, 0, LT_EV_RA_SYNC);
}

SEC("fentry/page_cache_async_ra")
int BPF_PROG(fentry_async_ra, struct readahead_control *ractl)
{
  return on_sync_async(ractl_inode(ractl), ractl->_index, 0, LT_EV_RA_ASYNC);
}

SEC("fentry/page_cache_ra_unbounded")
int BPF_PROG(fentry_ra_unbounded, struct readahead_control *ractl, unsigned long nr,
             unsigned long lookahead)
{
  return on_unbounded(ractl_inode(ractl), ractl->_index, nr, lookahead);
}

/* ---- page cache ------------------------------------------------------------ */

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(mm_filemap_add_to_page_cache, struct folio *folio)
{
  struct address_space *mapping = folio->mapping;
  __u64 ino;
  if (!task_ok() || !inode_ok(mapping->host, &ino))
    return 0;
  __u32 order = folio_order_of(folio);
  __u64 nr = 1ULL << (order & 31);
  __u64 index = folio->index;
  count(LT_PC_ADD_FOLIOS, 1);
  count(LT_PC_ADD_PAGES, nr);
  hist_slot(LT_H_PC_ADD_ORDER, order);
  if (track_unused) {
    if (order > max_order_seen)
      max_order_seen = order;
    struct task_state *st = state(false);
    bool accessed = st && st->access_mapping == (__u64)mapping && st->access_lo < index + nr &&
                    st->access_hi >= index;
    if (!accessed) {
      struct lt_folio_key key = {.mapping = (__u64)mapping, .index = index};
      __u32 pages = nr;
      long err = bpf_map_update_elem(&unused, &key, &pages, BPF_NOEXIST);
      if (!err) {
        __sync_fetch_and_add(&unused_folios, 1);
        count(LT_RA_UNUSED_RESIDENT, nr);
      }
      else if (err != -17 /* EEXIST */)
        count(LT_RA_TRACK_FULL, 1);
    }
  }
  emit(LT_EV_PC_ADD, ino, index, nr, 0, order);
  return 0;
}

SEC("tp_btf/mm_filemap_delete_from_page_cache")
int BPF_PROG(mm_filemap_delete_from_page_cache, struct folio *folio)
{
  struct address_space *mapping = folio->mapping;
  __u64 ino;
  if (!filter_files || !inode_ok(mapping->host, &ino))
    return 0; /* evictions are only attributable to files */
  __u32 order = folio_order_of(folio);
  __u64 nr = 1ULL << (order & 31);
  __u64 index = folio->index;
  count(LT_PC_DEL_FOLIOS, 1);
  count(LT_PC_DEL_PAGES, nr);
  hist_slot(LT_H_PC_DEL_ORDER, order);
  if (track_unused) {
    struct lt_folio_key key = {.mapping = (__u64)mapping, .index = index};
    forget_unused(&key, folio_was_referenced(folio) ? LT_RA_UNUSED_RESIDENT
                                                    : LT_RA_UNUSED_EVICTED);
  }
  emit(LT_EV_PC_DEL, ino, index, nr, 0, order);
  return 0;
}

/* ---- block I/O -------------------------------------------------------------
 * A request is ours when the traced task submits it: block:block_io_start
 * (6.5+) runs in the submitter's context when a bio becomes a request.
 * block_rq_issue may run later in a kworker or in the completion path (the
 * dispatch of a busy queue), so it only looks the request up. Kernels
 * without block_io_start attribute at issue time (missing kworker issues). */

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
  if (!task_ok())
    return 0;
  __u64 key = (__u64)rq;
  struct rq_start start = {};
  bpf_map_update_elem(&rqs, &key, &start, BPF_ANY);
  return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
  __u64 key = (__u64)rq;
  struct rq_start *start = bpf_map_lookup_elem(&rqs, &key);
  if (!start) {
    if (bio_at_start || !task_ok())
      return 0;
    struct rq_start fresh = {};
    bpf_map_update_elem(&rqs, &key, &fresh, BPF_ANY);
    start = bpf_map_lookup_elem(&rqs, &key);
    if (!start)
      return 0;
  }
  if (start->ts)
    return 0; /* issued again after a requeue: keep the first issue */
  __u64 bytes = rq->__data_len;
  if (!bytes) {
    bpf_map_delete_elem(&rqs, &key); /* flush and other data-less requests */
    return 0;
  }
  start->ts = bpf_ktime_get_ns();
  start->bytes = bytes;
  count(LT_BIO_REQS, 1);
  count(LT_BIO_BYTES, bytes);
  hist_log2(LT_H_BIO_BYTES, bytes);
  emit(LT_EV_BIO_ISSUE, 0, rq->__sector, bytes, 0, 0);
  return 0;
}

/* Fires for every partial completion; the latency is taken when the last
 * bytes complete. Bytes were counted at (first) issue, so requests still in
 * flight when the trace stops count too. */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
  __u64 key = (__u64)rq;
  struct rq_start *start = bpf_map_lookup_elem(&rqs, &key);
  if (!start || !start->ts)
    return 0; /* not ours, or not issued while we watched */
  if (nr_bytes < rq->__data_len)
    return 0;
  __u64 ns = bpf_ktime_get_ns() - start->ts;
  count(LT_BIO_DONE, 1);
  hist_log2(LT_H_BIO_NS, ns);
  emit(LT_EV_BIO_DONE, 0, rq->__sector, start->bytes, ns, 0);
  bpf_map_delete_elem(&rqs, &key);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
