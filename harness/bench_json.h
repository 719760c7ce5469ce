// Reading faultline-bench's own per-cell results (its --json FILE, written by
// benchmarks/bench_results.h) for one cell: its metrics, what it could not
// measure and why, the probes used, its warnings, its error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/availability.h"

namespace faultline::harness {

struct BenchResult {
  std::map<std::string, double> metrics;
  std::optional<std::string> error;  // the cell's error (cache state unreachable, load failed)
  std::vector<std::string> warnings;
  Availability availability;
};

// The entry for `cell_name` (load/<strategy>/<pattern>/<cache>). Throws
// std::runtime_error when the file is unreadable, not faultline-bench's, or
// has no such entry.
BenchResult read_bench_json(const std::string& path, const std::string& cell_name);

// A --benchmark_filter that selects exactly this cell.
std::string exact_filter(const std::string& cell_name);

}  // namespace faultline::harness
