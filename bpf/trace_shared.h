/* What every BPF object (faults, readahead, pagecache, block, syscalls,
 * tasks) and the C++ Tracer share, in the libbpf-tools style: plain C,
 * fixed-width types only. The maps that hold these live once (maps.bpf.c)
 * and are handed to every object with bpf_map__reuse_fd before it loads. */
#ifndef FAULTLINE_BPF_TRACE_SHARED_H
#define FAULTLINE_BPF_TRACE_SHARED_H

#include "bpf/fault_account.h"

#define FL_HIST_SLOTS 32 /* log2 buckets (or linear for orders) */
#define FL_PMD_PAGES 512 /* pages of a PMD-sized folio (4 KiB pages, x86-64/arm64 4K) */

/* Counters: one u64 per entry of a per-CPU array, summed by user space. */
enum fl_counter {
  FL_USER_FAULTS,       /* exceptions:page_fault_user (or user-mode handle_mm_fault) */
  FL_MM_FAULTS,         /* handle_mm_fault faults, counted once (retries folded in) */
  FL_MAJOR_FAULTS,      /* ... major: VM_FAULT_MAJOR or retried */
  FL_FAULT_ERRORS,      /* ... that ended in VM_FAULT_ERROR (not counted above) */
  FL_FILEMAP_FAULTS,    /* filemap:mm_filemap_fault (file-backed faults) */
  FL_FAULTAROUND_CALLS, /* filemap:mm_filemap_map_pages */
  FL_FAULTAROUND_PAGES, /* window pages examined by fault-around */
  FL_READ_CALLS,        /* filemap:mm_filemap_get_pages (read() batches) */
  FL_RA_SYNC,           /* readahead:page_cache_sync_ra */
  FL_RA_ASYNC,          /* readahead:page_cache_async_ra */
  FL_RA_ORDER,          /* readahead:page_cache_ra_order (incl. mmap read-around) */
  FL_RA_UNBOUNDED,      /* readahead:page_cache_ra_unbounded */
  FL_RA_MMAP_AROUND,    /* ra_order not preceded by sync/async: mmap read-around */
  FL_RA_REQUESTED,      /* pages readahead asked for (its windows, deduplicated) */
  FL_RA_READ,           /* pages added to the page cache inside a readahead window */
  FL_PC_ADD_FOLIOS,     /* filemap:mm_filemap_add_to_page_cache */
  FL_PC_ADD_PAGES,
  FL_PC_DEL_FOLIOS, /* filemap:mm_filemap_delete_from_page_cache */
  FL_PC_DEL_PAGES,
  FL_UNUSED_EVICTED,   /* pages added, never used, then evicted */
  FL_UNUSED_BEYOND,    /* pages added past the bitmap (the file grew): not tracked */
  FL_BIO_REQS,         /* block requests of the traced tasks and files */
  FL_BIO_BYTES,        /* bytes, at first issue */
  FL_BIO_DONE,         /* block:block_rq_complete of our requests */
  FL_BIO_OTHER_FILE,   /* requests the task submitted for pages of untraced files */
  FL_TIMELINE_EVENTS,  /* events written to the ring buffer */
  FL_TIMELINE_DROPPED, /* events lost: ring buffer full */
  FL_FORKS_FOLLOWED,   /* children added to the tgid filter (sched_process_fork) */
  FL_SC_EVENTS,        /* syscall_log.bpf.c: calls on traced files written */
  FL_SC_DROPPED,       /* ... lost: its ring buffer was full */
  FL_NR_COUNTERS,
};

/* Histograms: one per entry of a per-CPU array of struct fl_hist. */
enum fl_hist_id {
  FL_H_FAULT_NS,     /* handle_mm_fault latency, log2(ns), first attempt -> done */
  FL_H_MAJOR_NS,     /* major fault latency, log2(ns) */
  FL_H_RA_PAGES,     /* readahead request size, log2(pages) */
  FL_H_RA_ASYNC,     /* readahead async tail, log2(pages) */
  FL_H_RA_ORDER,     /* readahead folio order, linear */
  FL_H_PC_ADD_ORDER, /* page cache insertions by folio order, linear */
  FL_H_PC_DEL_ORDER, /* page cache deletions by folio order, linear */
  FL_H_BIO_BYTES,    /* block request size, log2(bytes) */
  FL_H_BIO_NS,       /* block request latency issue->complete, log2(ns) */
  FL_NR_HISTS,
};

struct fl_hist {
  __u64 slots[FL_HIST_SLOTS];
};

/* Filter key. dev is the kernel's encoding: major << 20 | minor. */
struct fl_file_key {
  __u64 dev;
  __u64 ino;
};

/* A traced file's slices of the never-used bitmaps (words of 64 bits):
 * `unused_bits` and `start_bits` have one bit per page from word `word`,
 * `pmd_bits` one bit per 512 pages from word `pmd_word`. */
struct fl_file {
  __u32 word;
  __u32 pmd_word;
  __u64 pages; /* pages tracked (the file size at load) */
};

/* Shared scalars (one entry of an array). unused_pages: pages of traced
 * files added while tracing and not used since (what "never used, still
 * resident" is); pmd_folios: PMD-sized folios of traced files cached;
 * syscalls: traced tasks inside a tracked syscall (sys_exit's cheap gate). */
struct fl_gate {
  __s64 unused_pages;
  __s64 pmd_folios;
  __s64 syscalls;
};

/* The VMA of the last user fault (never used: PMD mappings), so that most
 * faults need no bpf_find_vma; dropped at munmap/mmap/mremap/mprotect. */
enum fl_vma_flags {
  FL_VC_VALID = 1,
  FL_VC_TRACED = 2, /* a mapping of a traced file */
  FL_VC_SHARED = 4, /* VM_SHARED */
  FL_VC_NOHUGE = 8, /* VM_NOHUGEPAGE */
};
struct fl_vma_cache {
  __u64 start, end, pgoff;
  __u64 mapping;
  __u32 flags; /* enum fl_vma_flags */
  __u32 word, pmd_word, pad;
  __u64 pages; /* the traced file's struct fl_file */
};

/* Per-task scratch state (task storage). */
struct fl_task {
  struct fa_task fault; /* fault accounting (fault_account.h) */
  /* never used: the page the current filemap fault is for, and the last
   * user fault address (to tell a PMD mapping of a folio added by it) */
  __u64 pend_mapping;
  __u64 pend_index;
  __u64 pf_addr;
  /* readahead: the current window, for pages *read* by readahead */
  __u64 ra_inode;
  __u64 ra_lo, ra_hi;
  /* readahead: the last ra_order call, so its ra_unbounded fallback is not
   * counted twice; ra_pending = FL_EV_RA_SYNC / ASYNC / 0 */
  __u64 order_inode;
  __u64 order_index;
  __u64 order_nr;
  __u32 ra_pending;
  /* syscalls: the tracked call in progress (0 = none) */
  __u32 sc_nr;
  __u64 sc_addr, sc_len, sc_arg;
  __u32 pf_write; /* the last user fault was a write */
  __u32 pad;
  struct fl_vma_cache vma;
};

enum fl_event_kind {
  FL_EV_FILEMAP_FAULT = 1, /* index = faulting page */
  FL_EV_FAULTAROUND,       /* index .. index + nr - 1 */
  FL_EV_MAJOR_FAULT,       /* value = latency ns */
  FL_EV_RA_SYNC,           /* index, nr = requested pages */
  FL_EV_RA_ASYNC,
  FL_EV_RA_ORDER,     /* index, nr = window, value = async size, order */
  FL_EV_RA_UNBOUNDED, /* index, nr, value = lookahead */
  FL_EV_PC_ADD,       /* index, nr = folio pages */
  FL_EV_PC_DEL,
  FL_EV_BIO_ISSUE, /* nr = bytes */
  FL_EV_BIO_DONE,  /* nr = bytes, value = latency ns */
};

struct fl_event {
  __u64 ts_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
  __u64 ino;
  __u64 index; /* page index in the file (file offset = index << 12) */
  __u64 nr;
  __u64 value;
  __u32 tgid;
  __u16 kind;
  __u16 order;
  __u32 tid; /* the thread (pid in the kernel's sense) */
  __u32 pad;
};

/* syscall_log.bpf.c: one call of a traced task on a traced file, written
 * at the call's exit to its own ring buffer (sc_events). args are the raw
 * syscall arguments; the file range is the call's range in the file:
 * read/pread64/readv/preadv: [the file position or offset, + ret);
 * mmap: [offset, + length); munmap/madvise/mlock/mlock2: [addr, + len)
 * translated through the VMA that maps the traced file at addr (the part
 * inside that VMA); fadvise64: [offset, + len). */
enum fl_sc_range { FL_SC_NO_RANGE = 0, FL_SC_RANGE = 1 };
struct fl_sc_event {
  __u64 enter_ns, exit_ns; /* bpf_ktime_get_ns */
  __s64 ret;
  __u64 args[6];
  __u64 file_offset, file_bytes;
  __u64 ino;
  __u32 tid, tgid;
  __u32 nr;         /* the syscall number */
  __u32 has_range;  /* enum fl_sc_range */
  __u32 file_flags; /* f_flags of the file (fd calls), O_DIRECT etc. */
  __u32 pad;
};

#endif /* FAULTLINE_BPF_TRACE_SHARED_H */
