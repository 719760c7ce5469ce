// SPDX-License-Identifier: GPL-2.0
/* Page cache of the traced files (family bpf_pagecache): insertions by the
 * traced tasks (task filter and file filter) and deletions (file filter
 * only: eviction runs in kswapd, in fadvise callers, at truncation).
 *
 * An insertion inside the task's current readahead window (readahead.bpf.c)
 * counts as pages readahead *read* (FL_RA_READ). With track_unused the
 * inserted folio's pages become "unused" (unused.bpf.h), except the page a
 * filemap fault of this task is being served for (faults.bpf.c remembered
 * it): that one is used right away, or the whole folio when it is PMD-sized
 * and the fault's address can map it with one PMD (finish_fault does so,
 * and no event fires). At deletion what is still unused was never used. */
#include "bpf/common.bpf.h"
#include "bpf/folio.bpf.h"
#include "bpf/timeline.bpf.h"
#include "bpf/unused.bpf.h"

/* The PMD test of faults.bpf.c for the fault being served: is the last
 * user fault's address (its VMA cached by page_fault_user, else looked up)
 * in a mapping of this file, at the pending page, and can its 2 MiB be one
 * PMD? */
static long fault_vma_cb(struct task_struct *task, struct vm_area_struct *vma,
                         struct fl_vma_cache *c)
{
  struct file *f = vma->vm_file;
  __u64 flags = vma->vm_flags;
  c->start = vma->vm_start;
  c->end = vma->vm_end;
  c->pgoff = vma->vm_pgoff;
  c->mapping = f ? (__u64)f->f_mapping : 0;
  c->flags = FL_VC_VALID | FL_VC_TRACED | (flags & 0x8ULL ? FL_VC_SHARED : 0) |
             (flags & 0x40000000ULL ? FL_VC_NOHUGE : 0);
  return 0;
}

static __always_inline bool pmd_mapped_by_fault(struct fl_task *st)
{
  if (!st->pf_addr)
    return false;
  struct fl_vma_cache c = st->vma;
  if (!(c.flags & FL_VC_VALID) || st->pf_addr < c.start || st->pf_addr >= c.end) {
    c.flags = 0;
    bpf_find_vma(bpf_get_current_task_btf(), st->pf_addr, fault_vma_cb, &c, 0);
  }
  __u64 index;
  bool pmd_ok;
  return c.mapping == st->pend_mapping &&
         vma_cache_page(&c, st->pf_addr, st->pf_write, &index, &pmd_ok) &&
         index == st->pend_index && pmd_ok;
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(mm_filemap_add_to_page_cache, struct folio *folio)
{
  struct address_space *mapping = folio->mapping;
  __u64 ino;
  struct fl_file *file;
  if (!task_ok() || !mapping || !inode_ok(mapping->host, &ino, &file))
    return 0;
  __u32 order = folio_order_of(folio);
  __u64 nr = 1ULL << (order & 31);
  __u64 index = folio->index;
  count(FL_PC_ADD_FOLIOS, 1);
  count(FL_PC_ADD_PAGES, nr);
  hist_slot(FL_H_PC_ADD_ORDER, order);
  struct fl_task *st = task_state(false);
  if (st && st->ra_inode == (__u64)mapping->host && index <= st->ra_hi &&
      index + nr > st->ra_lo) {
    __u64 lo = index > st->ra_lo ? index : st->ra_lo;
    __u64 hi = index + nr - 1 < st->ra_hi ? index + nr - 1 : st->ra_hi;
    count(FL_RA_READ, hi - lo + 1);
    if (index + nr - 1 >= st->ra_hi)
      st->ra_inode = 0; /* the window is filled */
  }
  if (track_unused && file) {
    __u64 skip_lo = 1, skip_hi = 0;
    if (st && st->pend_mapping == (__u64)mapping && st->pend_index >= index &&
        st->pend_index < index + nr) {
      skip_lo = skip_hi = st->pend_index;
      if (nr == FL_PMD_PAGES && pmd_mapped_by_fault(st)) {
        skip_lo = index;
        skip_hi = index + nr - 1;
      }
    }
    unused_add_folio(file, index, nr, skip_lo, skip_hi);
  }
  emit(FL_EV_PC_ADD, ino, index, nr, 0, order);
  return 0;
}

SEC("tp_btf/mm_filemap_delete_from_page_cache")
int BPF_PROG(mm_filemap_delete_from_page_cache, struct folio *folio)
{
  struct address_space *mapping = folio->mapping;
  __u64 ino;
  struct fl_file *file;
  if (!filter_files || !mapping || !inode_ok(mapping->host, &ino, &file))
    return 0; /* evictions are only attributable to files */
  __u32 order = folio_order_of(folio);
  __u64 nr = 1ULL << (order & 31);
  __u64 index = folio->index;
  count(FL_PC_DEL_FOLIOS, 1);
  count(FL_PC_DEL_PAGES, nr);
  hist_slot(FL_H_PC_DEL_ORDER, order);
  if (track_unused && file)
    unused_evict_folio(file, index, nr);
  emit(FL_EV_PC_DEL, ino, index, nr, 0, order);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
