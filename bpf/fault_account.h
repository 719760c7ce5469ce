/* Counting page faults the way the kernel's mm_account_fault() does, from
 * the entry and exit of each handle_mm_fault() attempt. Plain C with no BPF
 * helper: faults.bpf.c runs it in the kernel (constants from CO-RE enum
 * relocations), tests/bpf/fault_account_test.cpp on synthetic attempt
 * sequences (constants from the kernel headers' values).
 *
 *  - An attempt that returns VM_FAULT_RETRY is not a fault yet: the fault
 *    goes on with a retry (flags carry FAULT_FLAG_TRIED); its start time is
 *    kept, so the latency covers every attempt.
 *  - A fault that ends in VM_FAULT_ERROR is not a successful fault: it is
 *    counted as an error, not as a fault, and has no latency.
 *  - Major = the last attempt returned VM_FAULT_MAJOR, or it is a retry
 *    (FAULT_FLAG_TRIED: it could not be handled at once), as in
 *    mm_account_fault().
 *  - An entry without FAULT_FLAG_TRIED starts a new fault even when an
 *    earlier one never finished (its retry was abandoned: fatal signal). */
#ifndef FAULTLINE_BPF_FAULT_ACCOUNT_H
#define FAULTLINE_BPF_FAULT_ACCOUNT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct fa_consts {
  __u32 retry; /* VM_FAULT_RETRY */
  __u32 major; /* VM_FAULT_MAJOR */
  __u32 error; /* VM_FAULT_ERROR: OOM | SIGBUS | SIGSEGV | HWPOISON | HWPOISON_LARGE | FALLBACK */
  __u32 tried; /* FAULT_FLAG_TRIED */
};

/* Per task: the fault in progress. */
struct fa_task {
  __u64 start_ns;
  __u32 flags;   /* of the last attempt */
  __u32 pending; /* an attempt has entered and the fault is not done */
};

enum fa_outcome {
  FA_NONE = 0, /* not a finished fault: a retry, or an exit without entry */
  FA_FAULT,    /* a fault, counted once */
  FA_ERROR,    /* the fault failed */
};

struct fa_result {
  __u32 outcome; /* enum fa_outcome */
  __u32 major;
  __u64 ns; /* first attempt's entry -> this exit */
};

static inline void fa_enter(struct fa_task *t, __u32 flags, __u64 now_ns,
                            const struct fa_consts *c)
{
  if (!t->pending || !(flags & c->tried))
    t->start_ns = now_ns;
  t->pending = 1;
  t->flags = flags;
}

static inline struct fa_result fa_exit(struct fa_task *t, __u32 ret, __u64 now_ns,
                                       const struct fa_consts *c)
{
  struct fa_result r = {FA_NONE, 0, 0};
  if (!t->pending || (ret & c->retry))
    return r;
  t->pending = 0;
  if (ret & c->error) {
    r.outcome = FA_ERROR;
    return r;
  }
  r.outcome = FA_FAULT;
  r.major = (ret & c->major) || (t->flags & c->tried);
  r.ns = now_ns - t->start_ns;
  return r;
}

#endif /* FAULTLINE_BPF_FAULT_ACCOUNT_H */
