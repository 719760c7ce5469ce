// SPDX-License-Identifier: GPL-2.0
/* Page faults of the traced tasks. Three families, each loaded as its own
 * instance of this object with only its programs (tracer_families.cpp):
 *   bpf_faults_user     tp_btf/page_fault_user (x86); else user-mode faults
 *                       counted by the fault-latency programs
 *                       (user_faults_from_mm);
 *   bpf_faults_filemap  tp_btf/mm_filemap_fault, mm_filemap_map_pages and
 *                       mm_filemap_get_pages (read() batches);
 *   bpf_fault_latency   fentry/fexit handle_mm_fault, else kprobe/kretprobe;
 *                       a fault is counted once (fault_account.h).
 * With track_unused they also clear "never used" bits: a read() batch
 * [index, last] (mm_filemap_get_pages fires at the end of filemap_get_pages,
 * after its page-cache adds), a fault-around window widened to the folios
 * it maps whole, the faulting page of a filemap fault (it fires before the
 * fault adds its folio, so the page is also remembered in task state for
 * the add to skip), and a whole PMD folio a user fault maps with one PMD
 * (page_fault_user + bpf_find_vma: no filemap event fires for those). */
#include "bpf/common.bpf.h"
#include "bpf/timeline.bpf.h"
#include "bpf/unused.bpf.h"

/* No exceptions:page_fault_user (not x86): count user faults at fault exit. */
const volatile bool user_faults_from_mm = false;

#define FL_VM_SHARED 0x8ULL
#define FL_VM_NOHUGEPAGE 0x40000000ULL
#define FL_X86_PF_WRITE 0x2

/* bpf_find_vma callback: the VMA holding the fault address, as a cache
 * entry (a traced file's mapping or not). */
static long vma_cache_cb(struct task_struct *task, struct vm_area_struct *vma,
                         struct fl_vma_cache *c)
{
  __u64 flags = vma->vm_flags;
  c->start = vma->vm_start;
  c->end = vma->vm_end;
  c->pgoff = vma->vm_pgoff;
  c->flags = FL_VC_VALID | (flags & FL_VM_SHARED ? FL_VC_SHARED : 0) |
             (flags & FL_VM_NOHUGEPAGE ? FL_VC_NOHUGE : 0);
  struct file *f = vma->vm_file;
  struct address_space *mapping = f ? f->f_mapping : NULL;
  __u64 ino;
  struct fl_file *file;
  if (!mapping || !inode_ok(mapping->host, &ino, &file) || !file)
    return 0;
  c->flags |= FL_VC_TRACED;
  c->mapping = (__u64)mapping;
  c->word = file->word;
  c->pmd_word = file->pmd_word;
  c->pages = file->pages;
  return 0;
}

/* A user fault on a cached PMD-sized folio of a traced file maps it with
 * one PMD and no filemap event fires: the whole folio is used. */
SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs,
             unsigned long error_code)
{
  if (!task_ok())
    return 0;
  count(FL_USER_FAULTS, 1);
  if (!track_unused)
    return 0;
  struct fl_task *st = task_state(true);
  if (!st)
    return 0;
  st->pf_addr = address;
  st->pf_write = !!(error_code & FL_X86_PF_WRITE);
  struct fl_gate *g = gate_get();
  if (!g || g->pmd_folios <= 0 || g->unused_pages <= 0)
    return 0;
  if (!(st->vma.flags & FL_VC_VALID) || address < st->vma.start || address >= st->vma.end) {
    struct fl_vma_cache c = {};
    bpf_find_vma(bpf_get_current_task_btf(), address, vma_cache_cb, &c, 0);
    st->vma = c;
  }
  __u64 index;
  bool pmd_ok;
  if (!vma_cache_page(&st->vma, address, st->pf_write, &index, &pmd_ok) || !pmd_ok)
    return 0;
  struct fl_file file = {
      .word = st->vma.word, .pmd_word = st->vma.pmd_word, .pages = st->vma.pages};
  if (pmd_folio_at(&file, index)) {
    __u64 lo = index & ~(__u64)(FL_PMD_PAGES - 1);
    unused_clear(&file, lo, lo + FL_PMD_PAGES - 1);
  }
  return 0;
}

/* ---- fault latency and major faults ------------------------------------ */

static __always_inline struct fa_consts fault_consts(void)
{
  struct fa_consts c = {
      .retry = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_RETRY),
      .major = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_MAJOR),
      .error = bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_OOM) |
               bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGBUS) |
               bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_SIGSEGV) |
               bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON) |
               bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_HWPOISON_LARGE) |
               bpf_core_enum_value(enum vm_fault_reason, VM_FAULT_FALLBACK),
      .tried = bpf_core_enum_value(enum fault_flag, FAULT_FLAG_TRIED),
  };
  return c;
}

static __always_inline void fault_entry(unsigned int flags)
{
  if (!task_ok())
    return;
  struct fl_task *st = task_state(true);
  if (!st)
    return;
  struct fa_consts c = fault_consts();
  fa_enter(&st->fault, flags, bpf_ktime_get_ns(), &c);
}

static __always_inline void fault_exit(unsigned long address, __u32 ret)
{
  struct fl_task *st = task_state(false);
  if (!st || !st->fault.pending)
    return; /* not a traced task (or attached mid-fault) */
  struct fa_consts c = fault_consts();
  __u32 flags = st->fault.flags;
  struct fa_result r = fa_exit(&st->fault, ret, bpf_ktime_get_ns(), &c);
  if (r.outcome == FA_ERROR)
    count(FL_FAULT_ERRORS, 1);
  if (r.outcome != FA_FAULT)
    return;
  count(FL_MM_FAULTS, 1);
  if (user_faults_from_mm && (flags & bpf_core_enum_value(enum fault_flag, FAULT_FLAG_USER)))
    count(FL_USER_FAULTS, 1);
  hist_log2(FL_H_FAULT_NS, r.ns);
  if (r.major) {
    count(FL_MAJOR_FAULTS, 1);
    hist_log2(FL_H_MAJOR_NS, r.ns);
    emit(FL_EV_MAJOR_FAULT, 0, address >> 12, 1, r.ns, 0);
  }
}

SEC("fentry/handle_mm_fault")
int BPF_PROG(handle_mm_fault_entry, struct vm_area_struct *vma, unsigned long address,
             unsigned int flags)
{
  fault_entry(flags);
  return 0;
}

SEC("fexit/handle_mm_fault")
int BPF_PROG(handle_mm_fault_exit, struct vm_area_struct *vma, unsigned long address,
             unsigned int flags, struct pt_regs *regs, vm_fault_t ret)
{
  fault_exit(address, ret);
  return 0;
}

SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(handle_mm_fault_kprobe, struct vm_area_struct *vma, unsigned long address,
               unsigned int flags)
{
  fault_entry(flags);
  return 0;
}

SEC("kretprobe/handle_mm_fault")
int BPF_KRETPROBE(handle_mm_fault_kretprobe, vm_fault_t ret)
{
  fault_exit(0, ret);
  return 0;
}

/* ---- file-backed faults, fault-around, read() batches -------------------- */

SEC("tp_btf/mm_filemap_fault")
int BPF_PROG(mm_filemap_fault, struct address_space *mapping, unsigned long index)
{
  __u64 ino;
  struct fl_file *file;
  if (!task_ok() || !inode_ok(mapping->host, &ino, &file))
    return 0;
  count(FL_FILEMAP_FAULTS, 1);
  if (track_unused && file) {
    struct fl_task *st = task_state(true);
    if (st) {
      st->pend_mapping = (__u64)mapping;
      st->pend_index = index;
      st->ra_inode = 0; /* readahead windows of earlier calls are over */
    }
    if (unused_pending())
      unused_clear(file, index, index);
  }
  emit(FL_EV_FILEMAP_FAULT, ino, index, 1, 0, 0);
  return 0;
}

SEC("tp_btf/mm_filemap_map_pages")
int BPF_PROG(mm_filemap_map_pages, struct address_space *mapping, unsigned long start,
             unsigned long last)
{
  __u64 ino;
  struct fl_file *file;
  if (!task_ok() || !inode_ok(mapping->host, &ino, &file))
    return 0;
  __u64 nr = last >= start ? last - start + 1 : 0;
  count(FL_FAULTAROUND_CALLS, 1);
  count(FL_FAULTAROUND_PAGES, nr);
  if (track_unused && file && nr && unused_pending())
    unused_clear(file, folio_first(file, start), folio_last(file, last));
  emit(FL_EV_FAULTAROUND, ino, start, nr, 0, 0);
  return 0;
}

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(mm_filemap_get_pages, struct address_space *mapping, unsigned long index,
             unsigned long last)
{
  __u64 ino;
  struct fl_file *file;
  if (!task_ok() || !inode_ok(mapping->host, &ino, &file))
    return 0;
  count(FL_READ_CALLS, 1);
  if (track_unused && file) {
    struct fl_task *st = task_state(false);
    if (st) {
      st->ra_inode = 0;
      st->pend_mapping = 0;
    }
    if (unused_pending())
      unused_clear(file, index, last);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
