// faultline-bench --json FILE: faultline's own per-cell results, beside
// Google Benchmark's JSON (whose counters can only be numbers). One entry per
// cell that ran: its metrics (the mean over its iterations; only what was
// measured: results/schema.json names), the metrics it could not measure and
// why, the probes that measured it, the loader's warnings, its error, and
// with --touch-latency the histogram of first-touch latencies. The
// harness reads this file; its layout is documented in benchmarks/README.md.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/touch_timer.h"
#include "common/availability.h"

namespace faultline {

struct CellResult {
  std::string cell;  // load/<strategy>/<pattern>/<cache>
  int iterations = 0;
  std::optional<std::string> error;
  std::map<std::string, double> metrics;
  Availability availability;
  std::vector<std::string> warnings;
  // --touch-latency: the first-touch latencies of every iteration, summed.
  std::optional<Log2Histogram> touch_latency_ns;
};

class BenchResults {
 public:
  void add(CellResult r) {
    std::lock_guard<std::mutex> lock(mutex_);
    cells_.push_back(std::move(r));
  }
  // Written atomically (temporary file, fsync, rename). Throws
  // std::runtime_error naming the file.
  void write(const std::string& path, const std::string& model, std::uint64_t model_bytes) const;

  static constexpr int kVersion = 1;

 private:
  mutable std::mutex mutex_;
  std::vector<CellResult> cells_;
};

}  // namespace faultline
