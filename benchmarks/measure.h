// One measurement of one cell: bring the file into the cache state (outside
// the clock), load it with the strategy and run the access pattern (timed),
// and read the probes around the timed region. faultline-bench runs this per
// iteration; tests assert physical invariants on its metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/access_pattern.h"
#include "benchmarks/availability.h"
#include "benchmarks/strategy.h"
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

struct MeasureOptions {
  bool global_drop = false;        // cold: also drop the whole page cache (root)
  std::uint64_t seed = 42;         // random:N and moe:k/n choices
  PerfCounterSet* perf = nullptr;  // extra perf events, reported as perf_<event>
  RegionProbe* region_probe = nullptr;
};

struct Measurement {
  std::map<std::string, double> metrics;  // DESIGN.md names (benchmarks/metrics.h)
  double seconds = 0;                     // the timed region: load + pattern
  std::uint64_t pages_touched = 0;        // distinct 4 KiB pages the pattern covered
  std::uint64_t checksum = 0;             // of the bytes the pattern read
  std::vector<std::string> warnings;      // from the loader (e.g. mlock fell back)
  Availability availability;              // probes used; metrics not measured and why
};

// Throws std::runtime_error (cache state not reachable, load failed, pattern
// does not fit the model) with a message naming the file.
Measurement measure_load(const std::string& model, const ModelLayout& layout, const LoadCell& cell,
                         const MeasureOptions& options = {});

}  // namespace faultline
