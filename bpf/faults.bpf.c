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

struct pmd_ctx {
  __u64 address;
  __u64 mapping; /* 0: any traced file */
  __u64 index;   /* out: the page the address maps */
  __u32 write;
  __u32 suitable; /* out: the address's 2 MiB can be mapped by one PMD */
  struct fl_file *file;
};

/* bpf_find_vma callback: the file page an address maps, and whether a PMD
 * folio there is mapped whole: file offset and address congruent modulo
 * 2 MiB, the 2 MiB range inside the VMA, no MADV_NOHUGEPAGE, and not a
 * write to a private mapping (that copies one page). */
static long pmd_vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct pmd_ctx *c)
{
  struct file *f = vma->vm_file;
  if (!f)
    return 0;
  struct address_space *mapping = f->f_mapping;
  if (!mapping || (c->mapping && (__u64)mapping != c->mapping))
    return 0;
  __u64 ino;
  if (!inode_ok(mapping->host, &ino, &c->file) || !c->file)
    return 0;
  __u64 start = vma->vm_start, end = vma->vm_end, pgoff = vma->vm_pgoff;
  __u64 flags = vma->vm_flags;
  c->index = pgoff + ((c->address - start) >> 12);
  __u64 huge = c->address & ~((__u64)FL_PMD_PAGES * 4096 - 1);
  c->suitable = ((start >> 12) - pgoff) % FL_PMD_PAGES == 0 && huge >= start &&
                huge + FL_PMD_PAGES * 4096 <= end && !(flags & FL_VM_NOHUGEPAGE) &&
                !(c->write && !(flags & FL_VM_SHARED));
  return 0;
}

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
  if (st) {
    st->pf_addr = address;
    st->pf_write = !!(error_code & FL_X86_PF_WRITE);
  }
  struct fl_gate *g = gate_get();
  if (!g || g->pmd_folios <= 0 || g->unused_pages <= 0)
    return 0;
  struct pmd_ctx c = {.address = address, .write = !!(error_code & FL_X86_PF_WRITE)};
  bpf_find_vma(bpf_get_current_task_btf(), address, pmd_vma_cb, &c, 0);
  if (c.file && c.suitable && pmd_folio_at(c.file, c.index)) {
    __u64 lo = c.index & ~(__u64)(FL_PMD_PAGES - 1);
    unused_clear(c.file, lo, lo + FL_PMD_PAGES - 1);
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
