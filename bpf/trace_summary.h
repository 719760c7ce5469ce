// What `faultline trace` prints and writes: one TraceReport, rendered as a
// human summary (fmt) or as JSON (nlohmann).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpf/tracer.h"
#include "common/rss_sampler.h"

namespace faultline::bpf {

struct TraceReport {
  std::vector<std::string> command;  // empty with -p / system-wide
  std::vector<int> pids;             // -p, or the command's pid
  std::vector<std::string> files;
  std::string filter;  // "cgroup /sys/fs/cgroup/unified/...", "pids 1 2", "system-wide"
  double seconds = 0;
  bool interrupted = false;        // stopped by SIGINT/SIGTERM or --duration
  std::optional<int> exit_status;  // the command's, when it ended
  std::optional<ProcessFaults> process_faults;
  std::vector<std::string> probes;  // Tracer::probes(): attached, skipped, warnings
  Availability availability;        // Tracer::availability(): probes, not measured
  TraceCounters counters;
  std::vector<RssSample> rss;
  std::uint64_t peak_rss_bytes = 0;
  bool timeline_enabled = false;
  std::uint64_t t0_ns = 0;  // CLOCK_MONOTONIC at start, for timeline times
  std::vector<TimelineEvent> timeline;
};

void print_summary(std::FILE* out, const TraceReport& report);
nlohmann::json report_json(const TraceReport& report);

}  // namespace faultline::bpf
