/* The timeline: one ring buffer shared by every object (sized by user space,
 * a page when the timeline is off). Counts never depend on it: an event
 * that does not fit is counted in FL_TIMELINE_DROPPED (bpf_dropped). */
#ifndef FAULTLINE_BPF_TIMELINE_BPF_H
#define FAULTLINE_BPF_TIMELINE_BPF_H

#include "bpf/common.bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void emit(__u16 kind, __u64 ino, __u64 index, __u64 nr, __u64 value,
                                 __u16 order) {
  if (!timeline) return;
  struct fl_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count(FL_TIMELINE_DROPPED, 1);
    return;
  }
  e->ts_ns = bpf_ktime_get_ns();
  e->ino = ino;
  e->index = index;
  e->nr = nr;
  e->value = value;
  const __u64 pid_tgid = bpf_get_current_pid_tgid();
  e->tgid = pid_tgid >> 32;
  e->tid = (__u32)pid_tgid;
  e->pad = 0;
  e->kind = kind;
  e->order = order;
  bpf_ringbuf_submit(e, 0);
  count(FL_TIMELINE_EVENTS, 1);
}

#endif /* FAULTLINE_BPF_TIMELINE_BPF_H */
