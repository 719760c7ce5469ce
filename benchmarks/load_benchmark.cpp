#include "benchmarks/load_benchmark.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "benchmarks/perf_counters.h"

namespace faultline {
namespace {

void run_cell(benchmark::State& state, const BenchConfig& cfg, const LoadCell& cell) {
  PerfCounterSet perf(cfg.perf_events);
  MeasureOptions opt = cfg.measure;
  opt.perf = cfg.perf_events.empty() ? nullptr : &perf;
  std::map<std::string, double> sums;
  std::map<std::string, int> counts;  // iterations that measured each metric
  std::uint64_t checksum = 0;
  std::string warning;
  CellResult result;
  result.cell = cell_name(cell);
  for (auto _ : state) {
    Measurement m;
    try {
      m = measure_load(cfg.model, cfg.layout, cell, opt);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      result.error = e.what();
      break;
    }
    state.SetIterationTime(m.seconds);
    for (const auto& [name, v] : m.metrics) {
      sums[name] += v;
      ++counts[name];
    }
    checksum ^= m.checksum;
    ++result.iterations;
    result.availability.merge(m.availability);
    for (const auto& w : m.warnings)
      if (std::find(result.warnings.begin(), result.warnings.end(), w) == result.warnings.end())
        result.warnings.push_back(w);
    if (warning.empty() && !m.warnings.empty()) warning = m.warnings.front();
  }
  benchmark::DoNotOptimize(checksum);
  // A metric some iteration could not measure is not measured for the cell.
  for (auto it = sums.begin(); it != sums.end();) {
    if (counts[it->first] != result.iterations) {
      result.availability.not_measured_because(
          it->first, fmt::format("measured in {} of {} iterations", counts[it->first],
                                 result.iterations));
      it = sums.erase(it);
    } else {
      result.availability.not_measured.erase(it->first);
      ++it;
    }
  }
  for (const auto& [name, sum] : sums) result.metrics[name] = sum / result.iterations;
  if (cfg.results) cfg.results->add(result);
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
