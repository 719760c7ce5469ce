#include "benchmarks/load_benchmark.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <map>

#include "benchmarks/perf_counters.h"

namespace faultline {
namespace {

void run_cell(benchmark::State& state, const BenchConfig& cfg, const LoadCell& cell) {
  PerfCounterSet perf(cfg.perf_events);
  MeasureOptions opt = cfg.measure;
  opt.perf = cfg.perf_events.empty() ? nullptr : &perf;
  std::map<std::string, double> sums;
  std::uint64_t checksum = 0;
  std::string warning;
  for (auto _ : state) {
    Measurement m;
    try {
      m = measure_load(cfg.model, cfg.layout, cell, opt);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    state.SetIterationTime(m.seconds);
    for (const auto& [name, v] : m.metrics) sums[name] += v;
    checksum ^= m.checksum;
    if (warning.empty() && !m.warnings.empty()) warning = m.warnings.front();
  }
  benchmark::DoNotOptimize(checksum);
  if (state.error_occurred()) return;
  for (const auto& [name, sum] : sums)
    state.counters[name] = benchmark::Counter(sum, benchmark::Counter::kAvgIterations);
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(cfg.layout.file_size));
  if (!warning.empty()) state.SetLabel(warning);
}

}  // namespace

std::vector<std::string> register_load_benchmarks(const BenchConfig& config) {
  std::vector<std::string> names;
  for (const auto& s : config.strategies)
    for (const auto& p : config.patterns)
      for (CacheState c : config.caches) {
        LoadCell cell{s, p, c};
        std::string name = cell_name(cell);
        benchmark::RegisterBenchmark(
            name.c_str(), [&config, cell](benchmark::State& st) { run_cell(st, config, cell); })
            ->UseManualTime()
            ->Iterations(config.iterations)
            ->Unit(benchmark::kMillisecond);
        names.push_back(std::move(name));
      }
  return names;
}

}  // namespace faultline
