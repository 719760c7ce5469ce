// SPDX-License-Identifier: GPL-2.0
/* Following the traced processes (`trace -p PID`, a tgid filter): a new
 * process forked by a traced one is traced too (its tgid joins `tgids`).
 * New threads share their parent's tgid, so only processes are added. A
 * cgroup filter needs none of this: children inherit the cgroup. */
#include "bpf/common.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
  __u32 ptgid = parent->tgid, ctgid = child->tgid;
  if (!filter_tgid || ptgid == ctgid || !bpf_map_lookup_elem(&tgids, &ptgid))
    return 0;
  const __u8 one = 1;
  if (bpf_map_update_elem(&tgids, &ctgid, &one, BPF_NOEXIST) == 0)
    count(FL_FORKS_FOLLOWED, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
