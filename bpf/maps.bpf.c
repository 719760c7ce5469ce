// SPDX-License-Identifier: GPL-2.0
/* No programs: the maps every object shares (common.bpf.h, timeline.bpf.h,
 * unused.bpf.h), created once when this object loads (sized by user space
 * first) and handed to each family object with bpf_map__reuse_fd. */
#include "bpf/common.bpf.h"
#include "bpf/timeline.bpf.h"
#include "bpf/unused.bpf.h"

char LICENSE[] SEC("license") = "GPL";
