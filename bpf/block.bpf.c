// SPDX-License-Identifier: GPL-2.0
/* Block I/O of the traced tasks and files (family bpf_block).
 *
 * A request is claimed where the traced task turns a bio into a request
 * (block:block_io_start, 6.5+, the submitter's context) and attributed to
 * the file it reads: the first bio's first page, its folio (compound_head
 * for a tail page), the folio's mapping, its host inode, the file filter.
 * A page-cache page of another file is not ours; a page with no file
 * mapping (direct I/O into anonymous user memory, kernel buffers) is
 * attributed by the submitting task alone. block_rq_issue may run later in
 * a kworker or in the completion path, so it only looks the request up;
 * kernels without block_io_start claim at issue time (bio_at_start off),
 * which misses requests a kworker issues. Bytes are counted at the first
 * issue (a requeued request is not counted twice), so requests still in
 * flight when the trace stops count; latency is first issue -> the
 * completion of its last bytes. */
#include "bpf/common.bpf.h"
#include "bpf/folio.bpf.h"
#include "bpf/timeline.bpf.h"

const volatile bool bio_at_start = false;

struct rq_start {
  __u64 ts;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH); /* requests never completed age out */
  __uint(max_entries, 8192);
  __type(key, __u64); /* struct request * */
  __type(value, struct rq_start);
} rqs SEC(".maps");

/* Whether the request moves data (not a flush, discard or write-zeroes:
 * no pages) of a traced file, or memory of no file; with a file filter,
 * reads only. */
static __always_inline bool rq_file_ok(struct request *rq)
{
  struct bio *bio = rq->bio;
  if (!bio || !bio->bi_io_vec) /* (split bios are clones: bi_vcnt 0, the parent's vecs) */
    return false;
  if (!filter_files)
    return true;
  if ((rq->cmd_flags & 0xff) != bpf_core_enum_value(enum req_op, REQ_OP_READ))
    return false;
  __u32 idx = bio->bi_iter.bi_idx;
  struct bio_vec *vec = bio->bi_io_vec;
  struct page *page = NULL;
  bpf_probe_read_kernel(&page, sizeof(page), &vec[idx & 0xffff].bv_page);
  if (!page)
    return true;
  struct folio *folio = page_folio_of(page);
  unsigned long mapping = 0;
  bpf_probe_read_kernel(&mapping, sizeof(mapping), &folio->mapping);
  if (!mapping || (mapping & 3)) /* no mapping, anonymous or movable: the task's */
    return true;
  struct inode *host = BPF_CORE_READ((struct address_space *)mapping, host);
  struct fl_file *file;
  if (host && file_ok(BPF_CORE_READ(host, i_sb, s_dev), BPF_CORE_READ(host, i_ino), &file))
    return true;
  count(FL_BIO_OTHER_FILE, 1);
  return false;
}

static __always_inline struct rq_start *claim(struct request *rq)
{
  if (!task_ok() || !rq_file_ok(rq))
    return NULL;
  __u64 key = (__u64)rq;
  struct rq_start fresh = {};
  bpf_map_update_elem(&rqs, &key, &fresh, BPF_ANY);
  return bpf_map_lookup_elem(&rqs, &key);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
  claim(rq);
  return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
  __u64 key = (__u64)rq;
  struct rq_start *start = bpf_map_lookup_elem(&rqs, &key);
  if (!start && (bio_at_start || !(start = claim(rq))))
    return 0;
  if (start->ts)
    return 0; /* issued again after a requeue: keep the first issue */
  __u64 bytes = rq->__data_len;
  if (!bytes) {
    bpf_map_delete_elem(&rqs, &key); /* flush and other data-less requests */
    return 0;
  }
  start->ts = bpf_ktime_get_ns();
  start->bytes = bytes;
  count(FL_BIO_REQS, 1);
  count(FL_BIO_BYTES, bytes);
  hist_log2(FL_H_BIO_BYTES, bytes);
  emit(FL_EV_BIO_ISSUE, 0, rq->__sector, bytes, 0, 0);
  return 0;
}

/* Fires for every partial completion; the latency is taken when the last
 * bytes complete. */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
  __u64 key = (__u64)rq;
  struct rq_start *start = bpf_map_lookup_elem(&rqs, &key);
  if (!start || !start->ts)
    return 0; /* not ours, or not issued while we watched */
  if (nr_bytes < rq->__data_len)
    return 0;
  __u64 ns = bpf_ktime_get_ns() - start->ts;
  count(FL_BIO_DONE, 1);
  hist_log2(FL_H_BIO_NS, ns);
  emit(FL_EV_BIO_DONE, 0, rq->__sector, start->bytes, ns, 0);
  bpf_map_delete_elem(&rqs, &key);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
