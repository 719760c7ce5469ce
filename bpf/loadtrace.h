/* Structs and enums shared by loadtrace.bpf.c (kernel) and the C++ Tracer
 * (user space), in the libbpf-tools style: plain C, fixed-width types only. */
#ifndef FAULTLINE_BPF_LOADTRACE_H
#define FAULTLINE_BPF_LOADTRACE_H

#define LT_HIST_SLOTS 32 /* log2 buckets (or linear for orders) */

/* Counters: one u64 per entry of a per-CPU array, summed by user space. */
enum lt_counter {
  LT_USER_FAULTS,       /* exceptions:page_fault_user */
  LT_MM_FAULTS,         /* handle_mm_fault calls (user + kernel + GUP/populate) */
  LT_MAJOR_FAULTS,      /* handle_mm_fault returned VM_FAULT_MAJOR */
  LT_FILEMAP_FAULTS,    /* filemap:mm_filemap_fault (file-backed faults) */
  LT_FAULTAROUND_CALLS, /* filemap:mm_filemap_map_pages */
  LT_FAULTAROUND_PAGES, /* window pages examined by fault-around */
  LT_READ_CALLS,        /* filemap:mm_filemap_get_pages (read() batches) */
  LT_RA_SYNC,           /* readahead:page_cache_sync_ra */
  LT_RA_ASYNC,          /* readahead:page_cache_async_ra */
  LT_RA_ORDER,          /* readahead:page_cache_ra_order (incl. mmap read-around) */
  LT_RA_UNBOUNDED,      /* readahead:page_cache_ra_unbounded */
  LT_RA_MMAP_AROUND,    /* ra_order not preceded by sync/async: mmap read-around */
  LT_RA_PAGES,          /* pages requested by readahead (deduplicated) */
  LT_PC_ADD_FOLIOS,     /* filemap:mm_filemap_add_to_page_cache */
  LT_PC_ADD_PAGES,
  LT_PC_DEL_FOLIOS, /* filemap:mm_filemap_delete_from_page_cache */
  LT_PC_DEL_PAGES,
  LT_RA_UNUSED_RESIDENT, /* pages added, not yet accessed, still cached */
  LT_RA_UNUSED_EVICTED,  /* pages added, never accessed, then evicted */
  LT_RA_TRACK_FULL,      /* folios not tracked for "unused" (map full) */
  LT_BIO_REQS,           /* block:block_rq_issue */
  LT_BIO_BYTES,          /* bytes, at first issue */
  LT_BIO_DONE,           /* block:block_rq_complete of our requests */
  LT_TIMELINE_EVENTS,    /* events written to the ring buffer */
  LT_TIMELINE_DROPPED,   /* events lost: ring buffer full */
  LT_NR_COUNTERS,
};

/* Histograms: one per entry of a per-CPU array of struct lt_hist. */
enum lt_hist_id {
  LT_H_FAULT_NS,     /* handle_mm_fault latency, log2(ns) */
  LT_H_MAJOR_NS,     /* major fault latency, log2(ns) */
  LT_H_RA_PAGES,     /* readahead request size, log2(pages) */
  LT_H_RA_ASYNC,     /* readahead async tail, log2(pages) */
  LT_H_RA_ORDER,     /* readahead folio order, linear */
  LT_H_PC_ADD_ORDER, /* page cache insertions by folio order, linear */
  LT_H_PC_DEL_ORDER, /* page cache deletions by folio order, linear */
  LT_H_BIO_BYTES,    /* block request size, log2(bytes) */
  LT_H_BIO_NS,       /* block request latency issue->complete, log2(ns) */
  LT_NR_HISTS,
};

struct lt_hist {
  __u64 slots[LT_HIST_SLOTS];
};

/* Filter keys. dev is the kernel's encoding: major << 20 | minor. */
struct lt_file_key {
  __u64 dev;
  __u64 ino;
};

/* A page-cache folio of a traced file not yet accessed (see loadtrace.bpf.c). */
struct lt_folio_key {
  __u64 mapping; /* struct address_space *, stable while the folio is cached */
  __u64 index;   /* folio's first page index */
};

enum lt_event_kind {
  LT_EV_FILEMAP_FAULT = 1, /* index = faulting page */
  LT_EV_FAULTAROUND,       /* index .. index + nr - 1 */
  LT_EV_MAJOR_FAULT,       /* value = latency ns */
  LT_EV_RA_SYNC,           /* index, nr = requested pages */
  LT_EV_RA_ASYNC,
  LT_EV_RA_ORDER,     /* index, nr = window, value = async size, order */
  LT_EV_RA_UNBOUNDED, /* index, nr, value = lookahead */
  LT_EV_PC_ADD,       /* index, nr = folio pages */
  LT_EV_PC_DEL,
  LT_EV_BIO_ISSUE, /* nr = bytes */
  LT_EV_BIO_DONE,  /* nr = bytes, value = latency ns */
};

struct lt_event {
  __u64 ts_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
  __u64 ino;
  __u64 index; /* page index in the file (file offset = index << 12) */
  __u64 nr;
  __u64 value;
  __u32 tgid;
  __u16 kind;
  __u16 order;
};

#endif /* FAULTLINE_BPF_LOADTRACE_H */
