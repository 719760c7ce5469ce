// faultline-bench --trace: the Tracer around each timed region. The bpf_*
// counters of the region become benchmark counters (to_metrics: only what
// was measured); with a timeline folder, the region's per-event timeline and
// RSS samples are written per cell as <folder>/<cell>.timeline.json, in
// `faultline trace --json`'s layout (bpf/trace_summary.h), for fault
// heatmaps and RSS-over-time plots.
//
// Nothing of the tracer lands in the measurement: prepare() (before the
// load's "before" samples) touches the timeline buffer and starts the ring
// buffer poller and the RSS sampler; begin() only snapshots the counters.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/measure.h"

namespace faultline::bpf {

class RegionTracer {
 public:
  // Filters on process `pid` (default: this one) and the model file. Never
  // throws: check ok().
  RegionTracer(const std::string& model, std::string timeline_dir, pid_t pid = 0);
  ~RegionTracer();
  RegionTracer(const RegionTracer&) = delete;
  RegionTracer& operator=(const RegionTracer&) = delete;

  bool ok() const;
  const std::string& error() const;  // "tracing unavailable: ..."
  // The tracer's (Tracer::availability), plus the last region's "no events".
  Availability availability() const;
  // The probe measure_load() calls around its timed region (in-process).
  RegionProbe& probe() { return probe_; }
  // The same, by cell name (for a tracer that watches another process:
  // bpf/region_server.h). end() writes the cell's timeline when there is a
  // timeline folder. begin() without prepare() prepares first.
  void prepare();
  void begin();
  std::vector<std::pair<std::string, double>> end(const std::string& cell);

  // At most this many events per cell (kept in a buffer touched before the
  // region, so it adds no RSS to the measurement); longer timelines keep
  // every k-th event and say so ("timeline_stride": k).
  static constexpr std::size_t kMaxTimelineEvents = 50000;
  // "Readahead pages never used" in every region (bpf_ra_unused_pages):
  // cheap enough for timed regions (bpf/README.md, "Cost").
  static constexpr bool kTrackUnused = true;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  RegionProbe probe_;
};

// The file name a cell's timeline gets: the cell name with path-unsafe
// characters replaced ("load_mmap_private_forward_cold.timeline.json").
std::string timeline_file_name(const std::string& cell);

}  // namespace faultline::bpf
