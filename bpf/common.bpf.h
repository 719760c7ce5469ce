/* What every faultline BPF object holds: the shared maps (defined in each
 * object, created once by maps.bpf.c and handed over with bpf_map__reuse_fd
 * before load), the filters, counting, log2 histograms and per-task state.
 *
 * Filters (const volatile, set by user space before load, so the verifier
 * drops what is off): a task passes when no task filter is set, or when it
 * runs under the cgroup in `cgroups[0]` (descendants included:
 * bpf_current_task_under_cgroup), or when its tgid is in `tgids` (either
 * one suffices). A file passes when no file filter is set or when its
 * (dev, ino) is in `files`. Every program checks its filters first and
 * returns before touching any other map when they fail.
 *
 * Programs are tp_btf/fentry (BTF-typed arguments) or kprobes: in the first
 * two fields are read by plain CO-RE-relocated dereferences, which the
 * verifier turns into fault-safe loads. */
#ifndef FAULTLINE_BPF_COMMON_BPF_H
#define FAULTLINE_BPF_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/trace_shared.h"

const volatile bool filter_cgroup = false;
const volatile bool filter_tgid = false;
const volatile bool filter_files = false;
const volatile bool timeline = false;
/* "Never used" bookkeeping (unused.bpf.h): only with a file filter. */
const volatile bool track_unused = false;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1); /* sized by user space */
  __type(key, __u32);
  __type(value, __u8);
} tgids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} cgroups SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct fl_file_key);
  __type(value, struct fl_file);
} files SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FL_NR_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FL_NR_HISTS);
  __type(key, __u32);
  __type(value, struct fl_hist);
} hists SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fl_gate);
} gate SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct fl_task);
} task_states SEC(".maps");

static __always_inline bool task_ok(void)
{
  if (!filter_cgroup && !filter_tgid)
    return true;
  if (filter_cgroup && bpf_current_task_under_cgroup(&cgroups, 0) == 1)
    return true;
  if (filter_tgid) {
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bpf_map_lookup_elem(&tgids, &tgid))
      return true;
  }
  return false;
}

/* Whether (dev, ino) passes the file filter; *file = its bitmap slices when
 * it is a traced file (NULL without a file filter). */
static __always_inline bool file_ok(__u64 dev, __u64 ino, struct fl_file **file)
{
  *file = NULL;
  if (!filter_files)
    return true;
  struct fl_file_key key = {.dev = dev, .ino = ino};
  *file = bpf_map_lookup_elem(&files, &key);
  return *file != NULL;
}

/* The same for a BTF-typed inode pointer (tp_btf/fentry arguments and what
 * they point to): direct loads, no helper calls. Kprobes use file_ok() with
 * BPF_CORE_READ values. */
static __always_inline bool inode_ok(struct inode *inode, __u64 *ino, struct fl_file **file)
{
  *file = NULL;
  if (!inode)
    return false;
  *ino = inode->i_ino;
  return file_ok(filter_files ? inode->i_sb->s_dev : 0, *ino, file);
}

static __always_inline void count(enum fl_counter c, __u64 v)
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
static __always_inline void hist_slot(enum fl_hist_id id, __u32 slot)
{
  __u32 key = id;
  struct fl_hist *h = bpf_map_lookup_elem(&hists, &key);
  if (!h)
    return;
  if (slot >= FL_HIST_SLOTS)
    slot = FL_HIST_SLOTS - 1;
  h->slots[slot]++;
}

static __always_inline void hist_log2(enum fl_hist_id id, __u64 v)
{
  hist_slot(id, v ? log2_u64(v) + 1 : 0); /* slot k>0: [2^(k-1), 2^k) */
}

static __always_inline struct fl_task *task_state(bool create)
{
  return bpf_task_storage_get(&task_states, bpf_get_current_task_btf(), 0,
                              create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline struct fl_gate *gate_get(void)
{
  __u32 zero = 0;
  return bpf_map_lookup_elem(&gate, &zero);
}

#endif /* FAULTLINE_BPF_COMMON_BPF_H */
