#include "benchmarks/load_benchmark.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "benchmarks/perf_counters.h"

namespace faultline {
namespace {

// Google Benchmark's timer runs only over the timed regions: paused for the
// cache preparation (eviction, warming, residency checks) and the probes'
// samples before each region, resumed by measure_load right before the
// region's counters start, paused right after they stop, and resumed after
// the unmapping. It measures the process's CPU time (MeasureProcessCPUTime),
// so its cpu_time is the CPU of every thread of the load, like task_clock_ms.
void run_cell(benchmark::State& state, const BenchConfig& cfg, const LoadCell& cell) {
  PerfCounterSet perf = PerfCounterSet::every_thread(cfg.perf_events);
  MeasureOptions opt = cfg.measure;
  opt.perf = cfg.perf_events.empty() ? nullptr : &perf;
  opt.region_begins = [&state] { state.ResumeTiming(); };
  opt.region_ends = [&state] { state.PauseTiming(); };
  std::map<std::string, double> sums;
  std::map<std::string, int> counts;  // iterations that measured each metric
  std::uint64_t checksum = 0;
  std::uint64_t touched_bytes = 0;
  std::string warning;
  CellResult result;
  result.cell = cell_name(cell);
  for (auto _ : state) {
    state.PauseTiming();
    Measurement m;
    try {
      m = measure_load(cfg.model, cfg.layout, cell, opt);
    } catch (const std::exception& e) {
      // The timer is paused here (measure_load pauses it when a load fails).
      state.SkipWithError(e.what());
      result.error = e.what();
      break;
    }
    state.ResumeTiming();
    state.SetIterationTime(m.seconds);
    for (const auto& [name, v] : m.metrics) {
      sums[name] += v;
      ++counts[name];
    }
    checksum ^= m.checksum;
    touched_bytes = m.touched_bytes;
    ++result.iterations;
    result.availability.merge(m.availability);
    if (m.touch_latency_ns) {
      if (!result.touch_latency_ns) result.touch_latency_ns.emplace();
      *result.touch_latency_ns += *m.touch_latency_ns;
    }
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
          it->first,
          fmt::format("measured in {} of {} iterations", counts[it->first], result.iterations));
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
  // bytes_per_second: the bytes the pattern touched (touched_bytes, as gbps),
  // not the file's size; none for a pattern that touches nothing.
  if (touched_bytes > 0)
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(touched_bytes));
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
            ->MeasureProcessCPUTime()
            ->Iterations(config.iterations)
            ->Unit(benchmark::kMillisecond);
        names.push_back(std::move(name));
      }
  return names;
}

}  // namespace faultline
