#include "benchmarks/measure.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "benchmarks/cache.h"
#include "benchmarks/mapping.h"
#include "schema/metrics.h"
#include "benchmarks/perf_counters.h"
#include "benchmarks/process_probe.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double delta(std::uint64_t after, std::uint64_t before) {
  return after >= before ? double(after - before) : -double(before - after);
}

// Bring the file into the cache state, verify it, return the residency.
Residency prepare_cache(const std::string& model, CacheState c, bool global_drop) {
  Residency r;
  if (c == CacheState::kCold) {
    r = evict(model, global_drop);
    if (r.pct() > 1.0 && !global_drop && can_drop_caches()) r = evict(model, true);
    if (r.pct() > 1.0)
      throw std::runtime_error(fmt::format(
          "cold: {:.1f}% of {} still resident after eviction (mapped or locked by another "
          "process?)",
          r.pct(), model));
  } else {
    r = residency(model);
    if (r.pct() < 99.0) r = warm(model);
    if (r.pct() < 99.0)
      throw std::runtime_error(
          fmt::format("warm: only {:.1f}% of {} resident after reading it (not enough memory?)",
                      r.pct(), model));
  }
  return r;
}

}  // namespace

std::string cell_name(const LoadCell& c) {
  return fmt::format("load/{}/{}/{}", to_string(c.strategy), to_string(c.pattern),
                     to_string(c.cache));
}

const char* to_string(CacheState c) {
  return c == CacheState::kCold ? "cold" : "warm";
}

CacheState parse_cache_state(std::string_view s) {
  if (s == "cold") return CacheState::kCold;
  if (s == "warm") return CacheState::kWarm;
  throw std::invalid_argument(fmt::format("invalid cache state '{}'; valid: cold, warm", s));
}

Measurement measure_load(const std::string& model, const ModelLayout& layout, const LoadCell& cell,
                         const MeasureOptions& opt) {
  Measurement out;
  const std::vector<Range> ranges = plan_ranges(cell.pattern, layout, opt.seed);
  out.pages_touched = pages_covered(ranges);
  const Residency residency = prepare_cache(model, cell.cache, opt.global_drop);
  const double resident_pct = residency.pct();

  PerfCounter task_clock("task-clock");
  if (opt.region_probe && opt.region_probe->prepare) opt.region_probe->prepare(cell);
  reset_peak_rss();
  const ProcessSample before = sample_process();
  const std::uint64_t pss_before = sample_pss_bytes();
  if (opt.region_probe) opt.region_probe->begin(cell);
  if (opt.perf) opt.perf->start();
  task_clock.reset();
  task_clock.enable();

  // ---- timed region: open -> usable pointer -> first pass ----
  const auto t0 = Clock::now();
  Mapping mapping;
  try {
    mapping = load(model, cell.strategy);
  } catch (...) {
    task_clock.disable();
    if (opt.perf) opt.perf->stop();
    if (opt.region_probe) opt.region_probe->end(cell);
    throw;
  }
  const auto t1 = Clock::now();
  out.checksum = touch(mapping.data(), mapping.size(), ranges);
  const auto t2 = Clock::now();
  // ---- end of timed region ----

  task_clock.disable();
  if (opt.perf) opt.perf->stop();
  const ProcessSample after = sample_process();
  const std::uint64_t pss_after = sample_pss_bytes();
  // After the samples: what the probe does at its end (write a timeline) is
  // not the load's memory.
  std::vector<std::pair<std::string, double>> region;
  if (opt.region_probe) region = opt.region_probe->end(cell);

  out.seconds = std::chrono::duration<double>(t2 - t0).count();
  out.warnings = mapping.warnings();
  auto& m = out.metrics;
  const double total_ms = ms_between(t0, t2);
  m[std::string(metric::kReadyMs)] = ms_between(t0, t1);
  m[std::string(metric::kFirstPassMs)] = ms_between(t1, t2);
  m[std::string(metric::kTotalMs)] = total_ms;
  m[std::string(metric::kGbps)] = total_ms > 0 ? double(mapping.size()) / (total_ms * 1e6) : 0.0;
  // Memory metrics are what the load added to this process.
  m[std::string(metric::kRssBytes)] = delta(after.rss_bytes, before.rss_bytes);
  m[std::string(metric::kRssFileBytes)] = delta(after.rss_file_bytes, before.rss_file_bytes);
  m[std::string(metric::kRssAnonBytes)] = delta(after.rss_anon_bytes, before.rss_anon_bytes);
  m[std::string(metric::kPeakRssBytes)] = delta(after.peak_rss_bytes, before.rss_bytes);
  m[std::string(metric::kPssBytes)] = delta(pss_after, pss_before);
  m[std::string(metric::kMajorFaults)] = delta(after.major_faults, before.major_faults);
  m[std::string(metric::kMinorFaults)] = delta(after.minor_faults, before.minor_faults);
  m[std::string(metric::kReadBytes)] = delta(after.read_bytes, before.read_bytes);
  m[std::string(metric::kResidentPct)] = resident_pct;
  auto& a = out.availability;
  for (const char* p : {"clock", "proc_status", "rusage", "proc_io", "smaps_rollup", "clear_refs"})
    a.add_probe(p);
  a.add_probe(residency.method);
  if (auto v = task_clock.read()) {
    m[std::string(metric::kTaskClockMs)] = double(*v) / 1e6;
    a.add_probe("perf:task-clock");
  } else {
    a.not_measured_because(std::string(metric::kTaskClockMs), task_clock.error());
  }
  if (opt.perf)
    for (const auto& [event, value] : opt.perf->read())
      if (value) m[std::string(metric::kPerfPrefix) + event] = double(*value);
  for (const auto& [name, value] : region) m[name] = value;
  if (opt.region_probe && opt.region_probe->availability)
    a.merge(opt.region_probe->availability());
  return out;
  // `mapping` is released here, outside the timed region.
}

}  // namespace faultline
