// SPDX-License-Identifier: GPL-2.0
/* Readahead of the traced tasks and files (family bpf_readahead). One of
 * three mechanisms is loaded (tracer_families.cpp): the readahead
 * tracepoints (6.14+), else fentry on the same functions, else kprobes.
 * Only the arguments stable since 5.10 are read in the fallbacks: the
 * readahead_control (1st), and for page_cache_ra_order the file_ra_state
 * (2nd), for page_cache_ra_unbounded nr_to_read / lookahead_size.
 *
 * Requested pages (FL_RA_REQUESTED): the window of page_cache_ra_order
 * (large-folio path, incl. mmap read-around) or nr_to_read of
 * page_cache_ra_unbounded (forced / fallback path); a fallback from
 * ra_order to ra_unbounded is not counted twice. The current window is kept
 * in task state: pagecache.bpf.c counts the pages added inside it as pages
 * readahead *read* (FL_RA_READ). */
#include "bpf/common.bpf.h"
#include "bpf/timeline.bpf.h"

struct ra_file {
  __u64 inode; /* pointer, identity only */
  __u64 dev, ino;
  __u64 last_page; /* (i_size - 1) >> 12 */
};

static __always_inline bool ra_file_of(struct inode *inode, struct ra_file *f, bool btf)
{
  struct fl_file *file;
  if (!inode)
    return false;
  f->inode = (__u64)inode;
  __s64 size;
  if (btf) {
    f->ino = inode->i_ino;
    f->dev = inode->i_sb->s_dev;
    size = inode->i_size;
  } else {
    f->ino = BPF_CORE_READ(inode, i_ino);
    f->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    size = BPF_CORE_READ(inode, i_size);
  }
  f->last_page = size > 0 ? (size - 1) >> 12 : 0;
  return file_ok(f->dev, f->ino, &file);
}

static __always_inline void set_window(struct fl_task *st, struct ra_file *f, __u64 lo, __u64 nr)
{
  if (!st || !nr)
    return;
  __u64 hi = lo + nr - 1;
  st->ra_inode = f->inode;
  st->ra_lo = lo;
  st->ra_hi = hi < f->last_page ? hi : f->last_page;
}

static __always_inline int on_sync_async(struct ra_file *f, __u64 index, __u64 req, __u32 kind)
{
  if (!task_ok())
    return 0;
  count(kind == FL_EV_RA_SYNC ? FL_RA_SYNC : FL_RA_ASYNC, 1);
  struct fl_task *st = task_state(true);
  if (st)
    st->ra_pending = kind;
  emit(kind, f->ino, index, req, 0, 0);
  return 0;
}

static __always_inline int on_ra_order(struct ra_file *f, __u64 index, __u64 start, __u64 size,
                                       __u64 async, __u32 order)
{
  if (!task_ok())
    return 0;
  __u64 nr = (index >= start && index - start < size) ? size - (index - start) : size;
  count(FL_RA_ORDER, 1);
  count(FL_RA_REQUESTED, nr);
  hist_log2(FL_H_RA_PAGES, nr);
  hist_log2(FL_H_RA_ASYNC, async);
  hist_slot(FL_H_RA_ORDER, order);
  struct fl_task *st = task_state(true);
  if (st) {
    if (!st->ra_pending)
      count(FL_RA_MMAP_AROUND, 1);
    st->ra_pending = 0;
    st->order_inode = f->inode;
    st->order_index = index;
    st->order_nr = nr;
    set_window(st, f, index, nr);
  }
  emit(FL_EV_RA_ORDER, f->ino, index, nr, async, order);
  return 0;
}

static __always_inline int on_unbounded(struct ra_file *f, __u64 index, __u64 nr, __u64 lookahead)
{
  if (!task_ok())
    return 0;
  count(FL_RA_UNBOUNDED, 1);
  struct fl_task *st = task_state(true);
  if (st && st->order_inode == f->inode && st->order_index <= index &&
      index < st->order_index + st->order_nr) {
    /* page_cache_ra_order fell back to order-0 pages for the rest of its
     * window: already counted there. */
    st->order_inode = 0;
  } else {
    count(FL_RA_REQUESTED, nr);
    hist_log2(FL_H_RA_PAGES, nr);
    hist_log2(FL_H_RA_ASYNC, lookahead);
    hist_slot(FL_H_RA_ORDER, 0);
  }
  if (st) {
    st->ra_pending = 0;
    set_window(st, f, index, nr);
  }
  emit(FL_EV_RA_UNBOUNDED, f->ino, index, nr, lookahead, 0);
  return 0;
}

/* ---- tracepoints (6.14+) -------------------------------------------------- */

SEC("tp_btf/page_cache_sync_ra")
int BPF_PROG(page_cache_sync_ra, struct inode *inode, unsigned long index,
             struct file_ra_state *ra, unsigned long req)
{
  struct ra_file f;
  return ra_file_of(inode, &f, true) ? on_sync_async(&f, index, req, FL_EV_RA_SYNC) : 0;
}

SEC("tp_btf/page_cache_async_ra")
int BPF_PROG(page_cache_async_ra, struct inode *inode, unsigned long index,
             struct file_ra_state *ra, unsigned long req)
{
  struct ra_file f;
  return ra_file_of(inode, &f, true) ? on_sync_async(&f, index, req, FL_EV_RA_ASYNC) : 0;
}

SEC("tp_btf/page_cache_ra_order")
int BPF_PROG(page_cache_ra_order, struct inode *inode, unsigned long index,
             struct file_ra_state *ra)
{
  struct ra_file f;
  if (!ra_file_of(inode, &f, true))
    return 0;
  return on_ra_order(&f, index, ra->start, ra->size, ra->async_size, ra->order);
}

SEC("tp_btf/page_cache_ra_unbounded")
int BPF_PROG(page_cache_ra_unbounded, struct inode *inode, unsigned long index,
             unsigned long nr, unsigned long lookahead)
{
  struct ra_file f;
  return ra_file_of(inode, &f, true) ? on_unbounded(&f, index, nr, lookahead) : 0;
}

/* ---- fentry fallback (5.10+) ---------------------------------------------- */

SEC("fentry/page_cache_sync_ra")
int BPF_PROG(fentry_sync_ra, struct readahead_control *ractl)
{
  struct ra_file f;
  if (!ra_file_of(ractl->mapping->host, &f, true))
    return 0;
  return on_sync_async(&f, ractl->_index, 0, FL_EV_RA_SYNC);
}

SEC("fentry/page_cache_async_ra")
int BPF_PROG(fentry_async_ra, struct readahead_control *ractl)
{
  struct ra_file f;
  if (!ra_file_of(ractl->mapping->host, &f, true))
    return 0;
  return on_sync_async(&f, ractl->_index, 0, FL_EV_RA_ASYNC);
}

SEC("fentry/page_cache_ra_order")
int BPF_PROG(fentry_ra_order, struct readahead_control *ractl, struct file_ra_state *ra)
{
  struct ra_file f;
  if (!ra_file_of(ractl->mapping->host, &f, true))
    return 0;
  return on_ra_order(&f, ractl->_index, ra->start, ra->size, ra->async_size, 0);
}

SEC("fentry/page_cache_ra_unbounded")
int BPF_PROG(fentry_ra_unbounded, struct readahead_control *ractl, unsigned long nr,
             unsigned long lookahead)
{
  struct ra_file f;
  if (!ra_file_of(ractl->mapping->host, &f, true))
    return 0;
  return on_unbounded(&f, ractl->_index, nr, lookahead);
}

/* ---- kprobe fallback ------------------------------------------------------- */

static __always_inline bool kp_file(struct readahead_control *ractl, struct ra_file *f,
                                    __u64 *index)
{
  *index = BPF_CORE_READ(ractl, _index);
  return ra_file_of(BPF_CORE_READ(ractl, mapping, host), f, false);
}

SEC("kprobe/page_cache_sync_ra")
int BPF_KPROBE(kprobe_sync_ra, struct readahead_control *ractl)
{
  struct ra_file f;
  __u64 index;
  return kp_file(ractl, &f, &index) ? on_sync_async(&f, index, 0, FL_EV_RA_SYNC) : 0;
}

SEC("kprobe/page_cache_async_ra")
int BPF_KPROBE(kprobe_async_ra, struct readahead_control *ractl)
{
  struct ra_file f;
  __u64 index;
  return kp_file(ractl, &f, &index) ? on_sync_async(&f, index, 0, FL_EV_RA_ASYNC) : 0;
}

SEC("kprobe/page_cache_ra_order")
int BPF_KPROBE(kprobe_ra_order, struct readahead_control *ractl, struct file_ra_state *ra)
{
  struct ra_file f;
  __u64 index;
  if (!kp_file(ractl, &f, &index))
    return 0;
  return on_ra_order(&f, index, BPF_CORE_READ(ra, start), BPF_CORE_READ(ra, size),
                     BPF_CORE_READ(ra, async_size), 0);
}

SEC("kprobe/page_cache_ra_unbounded")
int BPF_KPROBE(kprobe_ra_unbounded, struct readahead_control *ractl, unsigned long nr,
               unsigned long lookahead)
{
  struct ra_file f;
  __u64 index;
  return kp_file(ractl, &f, &index) ? on_unbounded(&f, index, nr, lookahead) : 0;
}

char LICENSE[] SEC("license") = "GPL";
