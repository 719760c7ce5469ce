// What the tracer counted: plain counters and histograms, summed over CPUs.
// A snapshot is cumulative since Tracer::start(); the difference of two
// snapshots gives a region's counts. No libbpf here: usable everywhere.
#pragma once

#include <array>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include "common/histogram.h"

#include <nlohmann/json_fwd.hpp>

#include "common/availability.h"

namespace faultline::bpf {

// Slots the kernel side fills (struct fl_hist, bpf/trace_shared.h); the
// histogram itself is faultline's one (common/histogram.h).
inline constexpr int kHistSlots = 32;
using Histogram = faultline::Histogram;
static_assert(kHistSlots <= Histogram::kSlots);

struct TraceCounters {
  // Page faults.
  std::uint64_t user_faults = 0;        // exceptions:page_fault_user
  std::uint64_t mm_faults = 0;          // handle_mm_fault faults, once each (retries folded in)
  std::uint64_t major_faults = 0;       // ... major (VM_FAULT_MAJOR or retried)
  std::uint64_t fault_errors = 0;       // ... that failed (VM_FAULT_ERROR), not in mm_faults
  std::uint64_t filemap_faults = 0;     // filemap:mm_filemap_fault
  std::uint64_t faultaround_calls = 0;  // filemap:mm_filemap_map_pages
  std::uint64_t faultaround_pages = 0;  // pages of the fault-around windows
  std::uint64_t read_calls = 0;         // filemap:mm_filemap_get_pages (read() batches)
  // Readahead.
  std::uint64_t ra_sync = 0;
  std::uint64_t ra_async = 0;
  std::uint64_t ra_order = 0;            // page_cache_ra_order calls
  std::uint64_t ra_unbounded = 0;        // page_cache_ra_unbounded calls
  std::uint64_t ra_mmap_around = 0;      // mmap read-around (ra_order without sync/async)
  std::uint64_t ra_requested_pages = 0;  // pages readahead asked for (its windows)
  std::uint64_t ra_pages = 0;            // pages readahead read (added inside its windows)
  // Never used: pages of traced files added while tracing that nothing read
  // or mapped. A snapshot holds the pages still unused and resident (a
  // state) plus those evicted unused (a count); a difference of snapshots
  // is a region's, when the region started with restart_unused().
  std::uint64_t ra_unused_pages = 0;
  std::uint64_t ra_unused_evicted = 0;  // ... of which already evicted
  std::uint64_t ra_untracked = 0;       // pages past a traced file's size at start (not tracked)
  // Page cache (traced files).
  std::uint64_t pagecache_add_folios = 0;
  std::uint64_t pagecache_add_pages = 0;
  std::uint64_t pagecache_evict_folios = 0;
  std::uint64_t pagecache_evict_pages = 0;
  // Block I/O of the traced tasks, for pages of the traced files (or of no
  // file: direct I/O).
  std::uint64_t bio_requests = 0;
  std::uint64_t bio_bytes = 0;  // at first issue (in-flight requests at stop included)
  std::uint64_t bio_completed = 0;
  std::uint64_t bio_other_files = 0;  // requests of the traced tasks for untraced files
  // Timeline ring buffer.
  std::uint64_t timeline_events = 0;
  std::uint64_t dropped = 0;         // events lost because the ring buffer was full
  std::uint64_t forks_followed = 0;  // children of traced pids added to the filter

  Histogram fault_ns;                        // handle_mm_fault latency, ns
  Histogram major_fault_ns;                  // major faults only, ns
  Histogram ra_size_pages;                   // readahead request sizes, pages
  Histogram ra_async_pages;                  // readahead async tails, pages
  Histogram ra_order_hist{{}, false};        // readahead folio orders
  Histogram pagecache_add_order{{}, false};  // inserted folios by order
  Histogram pagecache_evict_order{{}, false};
  Histogram bio_size_bytes;  // block request sizes, bytes
  Histogram bio_latency_ns;  // block request issue -> complete, ns

  // What the tracer that took the snapshot measured (Tracer::availability);
  // a difference keeps the later one's. Empty = hand-made counters.
  Availability availability;

  TraceCounters operator-(const TraceCounters& earlier) const;
};

// The bpf_* metrics of results/schema.json for a region (pass the
// difference of two snapshots), and why the others are absent: a metric
// whose probe family is not measured (availability.not_measured) is left
// out; a latency percentile of an attached probe with an empty histogram is
// left out with the reason "no events". bpf_dropped is always there.
struct RegionMetrics {
  std::vector<std::pair<std::string, double>> metrics;
  Availability availability;  // the tracer's, plus this region's "no events"
};
RegionMetrics region_metrics(const TraceCounters& delta, const Availability& tracer);
std::vector<std::pair<std::string, double>> to_metrics(const TraceCounters& delta,
                                                       const Availability& tracer);
// The same with the availability the counters carry.
std::vector<std::pair<std::string, double>> to_metrics(const TraceCounters& delta);

// Everything, for --json (with "metrics", "not_measured" and "probes").
nlohmann::json to_json(const TraceCounters& c);

}  // namespace faultline::bpf
