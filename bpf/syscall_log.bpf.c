// SPDX-License-Identifier: GPL-2.0
/* What a traced program asked of the traced files (`faultline trace`'s
 * "what did it do?"): raw_syscalls sys_enter / sys_exit of the traced tasks,
 * for the calls on a traced file only (a file filter is required):
 *
 *   openat/open   the returned fd resolved at exit (its f_flags: O_DIRECT)
 *   read/readv    fd -> struct file through task->files->fdt->fd[fd]; the
 *                 file position read at enter; bytes = the return value
 *   pread64/preadv  the same, the offset is the call's own
 *   mmap          fd, prot, flags, offset, length; the address at exit
 *   munmap/madvise/mlock/mlock2  [addr, addr + len) translated at enter
 *                 through the VMA at addr (bpf_find_vma) when it maps a
 *                 traced file: the part of the range inside that VMA
 *   fadvise64     fd, offset, len, advice
 *   close         fd
 *
 * One struct fl_sc_event per call, at exit, into this object's own ring
 * buffer (sc_events, sized by user space); a full buffer counts the event in
 * FL_SC_DROPPED, never silently. Syscall numbers come from user space (they
 * are per architecture). The call in progress waits in sc_pending (by tid). */
#include "bpf/common.bpf.h"

const volatile long nr_openat = -1;
const volatile long nr_open = -1;
const volatile long nr_read = -1;
const volatile long nr_pread64 = -1;
const volatile long nr_readv = -1;
const volatile long nr_preadv = -1;
const volatile long nr_mmap = -1;
const volatile long nr_munmap = -1;
const volatile long nr_madvise = -1;
const volatile long nr_mlock = -1;
const volatile long nr_mlock2 = -1;
const volatile long nr_fadvise64 = -1;
const volatile long nr_close = -1;

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct fl_sc_event);
} sc_pending SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096); /* sized by user space */
} sc_events SEC(".maps");

/* The 6th syscall argument (mmap's offset): older libbpf has no
 * PT_REGS_PARM6_CORE_SYSCALL. */
#if defined(PT_REGS_PARM6_CORE_SYSCALL)
#define SC_PARM6(regs) PT_REGS_PARM6_CORE_SYSCALL(regs)
#elif defined(__TARGET_ARCH_x86)
#define SC_PARM6(regs) BPF_CORE_READ(regs, r9)
#elif defined(__TARGET_ARCH_arm64)
#define SC_PARM6(regs) BPF_CORE_READ((struct user_pt_regs*)(regs), regs[5])
#else
#define SC_PARM6(regs) 0
#endif

/* Calls waiting in sc_pending: sys_exit, which runs for every task on the
 * system, returns at once when none is (an entry the LRU evicted leaves it
 * high: the gate only opens more often, never drops a call). */
__s64 sc_inflight = 0;

enum sc_kind { SC_NONE, SC_OPEN, SC_FD, SC_ADDR };

static __always_inline int kind_of(long id) {
  if (id == nr_openat || id == nr_open) return SC_OPEN;
  if (id == nr_read || id == nr_pread64 || id == nr_readv || id == nr_preadv || id == nr_mmap ||
      id == nr_fadvise64 || id == nr_close)
    return SC_FD;
  if (id == nr_munmap || id == nr_madvise || id == nr_mlock || id == nr_mlock2) return SC_ADDR;
  return SC_NONE;
}

/* The struct file of the current task's fd, or NULL. */
static __always_inline struct file* fd_file(long fd) {
  if (fd < 0) return NULL;
  struct task_struct* task = bpf_get_current_task_btf();
  struct files_struct* files = BPF_CORE_READ(task, files);
  if (!files) return NULL;
  struct fdtable* fdt = BPF_CORE_READ(files, fdt);
  if (!fdt) return NULL;
  unsigned int max = BPF_CORE_READ(fdt, max_fds);
  if ((unsigned long)fd >= max) return NULL;
  struct file** arr = BPF_CORE_READ(fdt, fd);
  struct file* f = NULL;
  bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
  return f;
}

/* Whether f is a traced file; fills e's inode and file flags. */
static __always_inline bool traced_file(struct file* f, struct fl_sc_event* e) {
  if (!f || !filter_files) return false;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!inode) return false;
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  __u64 dev = BPF_CORE_READ(inode, i_sb, s_dev);
  struct fl_file* file;
  if (!file_ok(dev, ino, &file)) return false;
  e->ino = ino;
  e->file_flags = BPF_CORE_READ(f, f_flags);
  return true;
}

#define MAX_VMAS 8

/* Walking [addr, end) VMA by VMA (mlock, madvise and mprotect split them):
 * the file range grows while the VMAs map the traced file contiguously. */
struct vma_ctx {
  struct fl_sc_event* e;
  __u64 addr, end; /* what is left to walk */
  __u32 found, traced, stop;
};

static long vma_cb(struct task_struct* task, struct vm_area_struct* vma, struct vma_ctx* c) {
  c->found = 1;
  struct file* f = vma->vm_file;
  struct inode* inode = f ? f->f_inode : NULL;
  struct fl_file* file;
  if (!inode || !filter_files || !file_ok(inode->i_sb->s_dev, inode->i_ino, &file)) {
    c->stop = 1;
    return 0;
  }
  __u64 start = vma->vm_start, end = vma->vm_end;
  __u64 lo = c->addr > start ? c->addr : start;
  __u64 hi = c->end < end ? c->end : end;
  __u64 off = (vma->vm_pgoff << 12) + (lo - start);
  if (c->traced && (inode->i_ino != c->e->ino || off != c->e->file_offset + c->e->file_bytes)) {
    c->stop = 1; /* another file, or not the next part of this one */
    return 0;
  }
  if (!c->traced) {
    c->e->ino = inode->i_ino;
    c->e->file_flags = f->f_flags;
    c->e->file_offset = off;
    c->e->has_range = FL_SC_RANGE;
    c->traced = 1;
  }
  c->e->file_bytes += hi > lo ? hi - lo : 0;
  c->addr = end;
  return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sc_enter, struct pt_regs* regs, long id) {
  int kind = kind_of(id);
  if (kind == SC_NONE || !task_ok()) return 0;
  struct fl_sc_event e = {};
  e.nr = id;
  e.args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
  e.args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
  e.args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
  e.args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
  e.args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
  e.args[5] = SC_PARM6(regs);
  if (kind == SC_FD) {
    struct file* f = fd_file((long)(int)(id == nr_mmap ? e.args[4] : e.args[0]));
    if (!traced_file(f, &e)) return 0;
    if (id == nr_read || id == nr_readv) {
      e.file_offset = BPF_CORE_READ(f, f_pos);
    } else if (id == nr_pread64 || id == nr_preadv) {
      e.file_offset = e.args[3];
    } else if (id == nr_mmap) {
      e.file_offset = e.args[5];
      e.file_bytes = e.args[1];
      e.has_range = FL_SC_RANGE;
    } else if (id == nr_fadvise64) {
      e.file_offset = e.args[1];
      e.file_bytes = e.args[2];
      e.has_range = FL_SC_RANGE;
    }
  } else if (kind == SC_ADDR) {
    struct vma_ctx c = {.e = &e, .addr = e.args[0], .end = e.args[0] + e.args[1]};
    if (c.end < c.addr) c.end = ~0ULL;
    for (int i = 0; i < MAX_VMAS && c.addr < c.end && !c.stop; i++) {
      c.found = 0;
      bpf_find_vma(bpf_get_current_task_btf(), c.addr, vma_cb, &c, 0);
      if (!c.found) break;
    }
    if (!c.traced) return 0;
  }
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  e.tid = tid;
  e.tgid = bpf_get_current_pid_tgid() >> 32;
  e.enter_ns = bpf_ktime_get_ns();
  if (bpf_map_update_elem(&sc_pending, &tid, &e, BPF_NOEXIST) == 0)
    __sync_fetch_and_add(&sc_inflight, 1);
  else
    bpf_map_update_elem(&sc_pending, &tid, &e, BPF_ANY); /* a call that never exited */
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sc_exit, struct pt_regs* regs, long ret) {
  if (sc_inflight <= 0) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct fl_sc_event* p = bpf_map_lookup_elem(&sc_pending, &tid);
  if (!p) return 0;
  struct fl_sc_event e = *p;
  if (bpf_map_delete_elem(&sc_pending, &tid) == 0) __sync_fetch_and_add(&sc_inflight, -1);
  e.ret = ret;
  e.exit_ns = bpf_ktime_get_ns();
  long id = e.nr;
  if (id == nr_openat || id == nr_open) {
    if (ret < 0 || !traced_file(fd_file(ret), &e)) return 0;
  } else if (id == nr_read || id == nr_readv || id == nr_pread64 || id == nr_preadv) {
    if (ret > 0) {
      e.file_bytes = ret;
      e.has_range = FL_SC_RANGE;
    }
  }
  if (bpf_ringbuf_output(&sc_events, &e, sizeof(e), 0) != 0) {
    count(FL_SC_DROPPED, 1);
    return 0;
  }
  count(FL_SC_EVENTS, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
