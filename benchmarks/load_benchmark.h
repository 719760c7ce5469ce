// The Google Benchmark cells of faultline-bench: one benchmark per
// strategy x access pattern x cache state, named load/<strategy>/<pattern>/<cache>
// so that a --benchmark_filter selects exactly one cell. Google Benchmark
// appends its own suffixes to the reported name ("/iterations:3/manual_time"),
// so the filter for one cell is '^load/<strategy>/<pattern>/<cache>/'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/bench_results.h"
#include "benchmarks/measure.h"

namespace faultline {

struct BenchConfig {
  std::string model;
  ModelLayout layout;
  std::vector<Strategy> strategies;
  std::vector<AccessPattern> patterns;
  std::vector<CacheState> caches;
  int iterations = 3;  // per benchmark, each a full load; 0: Google Benchmark decides
  std::vector<std::string> perf_events;  // extra perf events, reported as perf_<event>
  MeasureOptions measure;                // global drop, seed, region probe
  BenchResults* results = nullptr;       // --json: every cell's result goes here too
};

// Registers every cell of the config with Google Benchmark; returns their
// names. `config` must outlive the benchmark run.
std::vector<std::string> register_load_benchmarks(const BenchConfig& config);

}  // namespace faultline
