// One measurement of one cell: bring the file into the cache state (outside
// the clock), load it with the strategy and run the access pattern (timed),
// and read the probes around the timed region. faultline-bench runs this per
// iteration; tests assert physical invariants on its metrics.
//
// Every metric is measured by a named probe (Measurement::availability's
// probes) or absent with the reason (its not_measured): never 0 for "unknown".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/access_pattern.h"
#include "benchmarks/strategy.h"
#include "benchmarks/touch_timer.h"
#include "common/availability.h"
#include "datasets/model_layout.h"

namespace faultline {

class PerfCounterSet;

enum class CacheState { kCold, kWarm };
const char* to_string(CacheState c);
// "cold" / "warm"; throws std::invalid_argument otherwise.
CacheState parse_cache_state(std::string_view s);

struct LoadCell {
  Strategy strategy;
  AccessPattern pattern;
  CacheState cache = CacheState::kCold;
};

// The benchmark name of a cell: load/<strategy>/<pattern>/<cache>.
std::string cell_name(const LoadCell& cell);

// Counters measured over the timed region by an optional extra probe (the
// eBPF tracer): prepare() before the "before" samples (allocate buffers,
// start threads: nothing the probe needs may land in the load's RSS or
// faults), begin() right before the clock starts, end() right after it
// stops, returning (metric name, value) pairs for that region.
struct RegionProbe {
  std::function<void(const LoadCell&)> prepare;  // optional
  std::function<void(const LoadCell&)> begin;
  std::function<std::vector<std::pair<std::string, double>>(const LoadCell&)> end;
  // What the probe measured with and what it could not measure (optional).
  std::function<Availability()> availability;
};

// A probe that traces nothing: its regions give no counters and every bpf_*
// metric is not measured, with `why` ("tracing unavailable: ...").
RegionProbe untraced_region_probe(const std::string& why);

struct MeasureOptions {
  bool global_drop = false;  // cold: also drop the whole page cache (root)
  std::uint64_t seed = 42;   // random:N and moe:k/n choices
  // Extra perf events, reported as perf_<event>; made with
  // PerfCounterSet::every_thread so that they count the whole process.
  PerfCounterSet* perf = nullptr;
  RegionProbe* region_probe = nullptr;
  // Time the first touch of each page (touch_p50_us, touch_p99_us and the
  // histogram): two clock reads per page, so off unless asked for.
  bool touch_latency = false;
  // Called right before the region's counters start and right after they
  // stop (also when the load fails): faultline-bench resumes and pauses
  // Google Benchmark's timer here, so that its cpu_time is the timed region's.
  std::function<void()> region_begins;
  std::function<void()> region_ends;
};

struct Measurement {
  std::map<std::string, double> metrics;  // results/schema.json names (schema/metrics.h)
  double seconds = 0;                     // the timed region: load + pattern
  std::uint64_t pages_touched = 0;        // distinct 4 KiB pages the pattern covered
  std::uint64_t touched_bytes = 0;        // the same, in bytes clipped to the file
  std::uint64_t checksum = 0;             // of the bytes the pattern read
  std::vector<std::string> warnings;      // from the loader (e.g. mlock fell back)
  Availability availability;              // probes used; metrics not measured and why
  // With touch_latency: the first touch of each page, in ns (count =
  // pages_touched).
  std::optional<Log2Histogram> touch_latency_ns;
};

// Throws std::runtime_error (cache state not reachable, load failed, pattern
// does not fit the model) with a message naming the file.
Measurement measure_load(const std::string& model, const ModelLayout& layout, const LoadCell& cell,
                         const MeasureOptions& options = {});

}  // namespace faultline
