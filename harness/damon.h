// Who else evicts the page cache: DAMON (mm/damon) running a pageout scheme,
// the proactive reclaim some hosts and VMs run. It evicts pages of the model
// that it judges cold, also during a cell: a cold load then reads them twice,
// a warm cell is not fully warm, readahead sees holes. The trace counts such
// evictions (bpf_pagecache_evict_pages; with a timeline, the evicting task is
// kdamond.N); this says, before a run, that someone may cause them. Read from
// /sys/kernel/mm/damon/admin (the sysfs interface) and the damon_reclaim
// module's parameters; what cannot be read counts as not running.
#pragma once

#include <string>
#include <vector>

namespace faultline::harness {

// One sentence per running pageout: "kdamond 0 (pid 77): pageout of
// physical memory not accessed for 60 s (12 aggregations of 5 s), at most
// 128 MiB per 1 s; filters: anon rejected, unmapped allowed; stop it with
// echo off > /sys/kernel/mm/damon/admin/kdamonds/0/state". Empty: none.
// `sys` is the sysfs root (tests give a folder of their own).
std::vector<std::string> damon_pageout(const std::string& sys = "/sys");

}  // namespace faultline::harness
