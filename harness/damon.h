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

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct DamonPageout {
  // One sentence per running pageout: "kdamond 0 (pid 77): pageout of
  // physical memory not accessed for 60 s (12 aggregations of 5 s), at most
  // 128M per 1 s; filters: anon rejected, unmapped allowed; stop it with
  // echo off > /sys/kernel/mm/damon/admin/kdamonds/0/state".
  std::vector<std::string> schemes;
  // Why it could not be told ("" when it could): DAMON's sysfs files are
  // root's ("/sys/kernel/mm/damon/admin: Permission denied (run as root to
  // see DAMON's schemes)").
  std::string unknown;
};

// What runs now. `sys` is the sysfs root (tests give a folder of their own).
DamonPageout damon_pageout(const std::string& sys = "/sys");

// For env.json "damon_pageout": the sentences, or the string "unknown: WHY".
nlohmann::json damon_json(const DamonPageout& d);

}  // namespace faultline::harness
