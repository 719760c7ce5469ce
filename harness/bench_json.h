// Reading faultline-bench's Google Benchmark JSON (--benchmark_out) for one
// cell: its metrics (the names of benchmarks/metrics.h, plus perf_*), its
// error, its label (loader warnings).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace faultline::harness {

struct BenchResult {
  std::map<std::string, double> metrics;
  std::optional<std::string> error;  // error_message of a failed benchmark
  std::string label;
};

// The entry for `cell_name` (load/<strategy>/<pattern>/<cache>, matched with
// or without Google Benchmark's /iterations:N/manual_time suffix). Throws
// std::runtime_error when the file is unreadable or has no such entry.
BenchResult read_bench_json(const std::string& path, const std::string& cell_name);

// A --benchmark_filter that selects exactly this cell.
std::string exact_filter(const std::string& cell_name);

}  // namespace faultline::harness
