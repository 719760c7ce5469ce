// SPDX-License-Identifier: GPL-2.0
/* System calls of the traced tasks (raw_syscalls sys_enter / sys_exit).
 * Now: the calls that map pages inside the kernel, where no user fault and
 * often no filemap event fires (GUP maps PMD-sized folios silently):
 * mmap with MAP_POPULATE or MAP_LOCKED, madvise MADV_POPULATE_READ/WRITE,
 * mlock and mlock2 (not MLOCK_ONFAULT). When one succeeds, the file pages
 * of the VMAs over [addr, addr + len) are marked used (unused.bpf.h).
 * mlockall is not followed (walking every VMA is not cheap here).
 * munmap, mremap, mprotect and mmap also drop the VMA that page_fault_user
 * caches (faults.bpf.c). Syscall numbers and flag values come from user space (they are per
 * architecture); sys_exit does nothing unless a traced task is inside one
 * of these calls (gate->syscalls). */
#include "bpf/common.bpf.h"
#include "bpf/unused.bpf.h"

const volatile long nr_mmap = -1;
const volatile long nr_madvise = -1;
const volatile long nr_mlock = -1;
const volatile long nr_mlock2 = -1;
const volatile long nr_munmap = -1;
const volatile long nr_mremap = -1;
const volatile long nr_mprotect = -1;
const volatile __u64 map_populate = 0;  /* MAP_POPULATE */
const volatile __u64 map_locked = 0;    /* MAP_LOCKED */
const volatile __u64 madv_populate_read = 0;
const volatile __u64 madv_populate_write = 0;
const volatile __u64 mlock_onfault = 0; /* MLOCK_ONFAULT */

#define MAX_VMAS 8

static __always_inline bool wanted(long id, __u64 arg)
{
  if (id == nr_mmap)
    return arg & (map_populate | map_locked);
  if (id == nr_madvise)
    return arg == madv_populate_read || arg == madv_populate_write;
  if (id == nr_mlock)
    return true;
  if (id == nr_mlock2)
    return !(arg & mlock_onfault);
  return false;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
  if (id == nr_munmap || id == nr_mremap || id == nr_mprotect || id == nr_mmap) {
    /* The address space changes: page_fault_user's VMA cache goes. */
    struct fl_task *st = task_state(false);
    if (st)
      st->vma.flags = 0;
  }
  if (id != nr_mmap && id != nr_madvise && id != nr_mlock && id != nr_mlock2)
    return 0;
  if (!task_ok())
    return 0;
  __u64 arg = 0;
  if (id == nr_mmap)
    arg = PT_REGS_PARM4_CORE_SYSCALL(regs);
  else if (id != nr_mlock)
    arg = PT_REGS_PARM3_CORE_SYSCALL(regs);
  if (!wanted(id, arg))
    return 0;
  struct fl_task *st = task_state(true);
  struct fl_gate *g = gate_get();
  if (!st || !g)
    return 0;
  if (!st->sc_nr)
    __sync_fetch_and_add(&g->syscalls, 1);
  st->sc_nr = id;
  st->sc_addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
  st->sc_len = PT_REGS_PARM2_CORE_SYSCALL(regs);
  st->sc_arg = arg;
  return 0;
}

struct walk_ctx {
  __u64 addr, end; /* [addr, end): what is left to walk */
  __u32 found;
};

static long used_vma_cb(struct task_struct *task, struct vm_area_struct *vma,
                        struct walk_ctx *c)
{
  __u64 start = vma->vm_start, end = vma->vm_end;
  c->found = 1;
  __u64 lo = c->addr > start ? c->addr : start;
  __u64 hi = c->end < end ? c->end : end;
  c->addr = end;
  struct file *f = vma->vm_file;
  if (!f || lo >= hi)
    return 0;
  __u64 ino;
  struct fl_file *file;
  if (!inode_ok(f->f_mapping->host, &ino, &file) || !file)
    return 0;
  __u64 first = vma->vm_pgoff + ((lo - start) >> 12);
  unused_clear(file, first, first + ((hi - lo - 1) >> 12));
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
  struct fl_gate *g = gate_get();
  if (!g || g->syscalls <= 0)
    return 0;
  struct fl_task *st = task_state(false);
  if (!st || !st->sc_nr)
    return 0;
  __sync_fetch_and_add(&g->syscalls, -1);
  long id = st->sc_nr;
  st->sc_nr = 0;
  __u64 addr = st->sc_addr;
  if (id == nr_mmap) {
    if ((unsigned long)ret >= (unsigned long)-4095)
      return 0;
    addr = ret;
  } else if (ret != 0) {
    return 0;
  }
  if (!unused_pending())
    return 0;
  struct walk_ctx c = {.addr = addr & ~4095ULL, .end = addr + st->sc_len};
  for (int i = 0; i < MAX_VMAS && c.addr < c.end; i++) {
    c.found = 0;
    bpf_find_vma(bpf_get_current_task_btf(), c.addr, used_vma_cb, &c, 0);
    if (!c.found)
      break;
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
