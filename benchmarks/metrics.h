// The metric names of DESIGN.md: snake_case, units in the name. This header is
// their one owner in C++: faultline-bench counters, the tracer's bpf_*
// counters and the harness's runs.jsonl rows all use these constants.
#pragma once

#include <string_view>

namespace faultline::metric {

// Timing (milliseconds) and throughput.
inline constexpr std::string_view kReadyMs = "ready_ms";           // open -> usable pointer
inline constexpr std::string_view kFirstPassMs = "first_pass_ms";  // the access pattern
inline constexpr std::string_view kTotalMs = "total_ms";           // ready + first pass
inline constexpr std::string_view kGbps = "gbps";  // file bytes / total time, GB/s (1e9)

// Memory, right after the timed phase.
inline constexpr std::string_view kRssBytes = "rss_bytes";
inline constexpr std::string_view kRssFileBytes = "rss_file_bytes";
inline constexpr std::string_view kRssAnonBytes = "rss_anon_bytes";
inline constexpr std::string_view kPeakRssBytes = "peak_rss_bytes";
inline constexpr std::string_view kPssBytes = "pss_bytes";

// Faults and I/O during the timed phase.
inline constexpr std::string_view kMajorFaults = "major_faults";
inline constexpr std::string_view kMinorFaults = "minor_faults";
inline constexpr std::string_view kReadBytes = "read_bytes";       // /proc/self/io, storage
inline constexpr std::string_view kResidentPct = "resident_pct";   // file residency before timing
inline constexpr std::string_view kTaskClockMs = "task_clock_ms";  // CPU time (perf task-clock)
// A user-named perf event E is reported as "perf_" + E (e.g. perf_cycles).
inline constexpr std::string_view kPerfPrefix = "perf_";

// Trace metrics (bpf/ Tracer), over the timed phase only.
inline constexpr std::string_view kBpfUserFaults = "bpf_user_faults";
inline constexpr std::string_view kBpfFilemapFaults = "bpf_filemap_faults";
inline constexpr std::string_view kBpfFaultaroundPages = "bpf_faultaround_pages";
inline constexpr std::string_view kBpfRaSync = "bpf_ra_sync";
inline constexpr std::string_view kBpfRaAsync = "bpf_ra_async";
inline constexpr std::string_view kBpfRaPages = "bpf_ra_pages";
inline constexpr std::string_view kBpfPagecacheAddPages = "bpf_pagecache_add_pages";
inline constexpr std::string_view kBpfPagecacheEvictPages = "bpf_pagecache_evict_pages";
inline constexpr std::string_view kBpfBioBytes = "bpf_bio_bytes";
inline constexpr std::string_view kBpfFaultP50Us = "bpf_fault_p50_us";
inline constexpr std::string_view kBpfFaultP99Us = "bpf_fault_p99_us";
inline constexpr std::string_view kBpfBioP50Us = "bpf_bio_p50_us";
inline constexpr std::string_view kBpfBioP99Us = "bpf_bio_p99_us";
inline constexpr std::string_view kBpfDropped = "bpf_dropped";

// Harness (harness/): a --processes N fleet, each loader's memory summed, and
// what the cell's cgroup saw.
inline constexpr std::string_view kFleetRssBytes =
    "fleet_rss_bytes";  // sum of the loaders' rss_bytes
inline constexpr std::string_view kFleetPssBytes =
    "fleet_pss_bytes";  // sum of the loaders' pss_bytes
inline constexpr std::string_view kFleetReadyMs = "fleet_ready_ms";  // slowest loader's ready_ms
inline constexpr std::string_view kCgroupPeakBytes =
    "cgroup_peak_bytes";                                                 // memory.peak / max_usage
inline constexpr std::string_view kCgroupOomKills = "cgroup_oom_kills";  // memory.events oom_kill
// memory.stat of the cell's cgroup: file pages read again soon after eviction
// (thrashing under --memory-limit), and major faults of every task in it.
inline constexpr std::string_view kCgroupRefaults = "cgroup_refaults";  // workingset_refault_file
inline constexpr std::string_view kCgroupMajorFaults = "cgroup_major_faults";  // pgmajfault
// Calibration (once per run): storage sequential limit and page-cache copy rate.
inline constexpr std::string_view kStorageGbps = "storage_gbps";
inline constexpr std::string_view kPagecacheGbps = "pagecache_gbps";

}  // namespace faultline::metric
