#include "benchmarks/measure.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "benchmarks/cache.h"
#include "benchmarks/mapping.h"
#include "benchmarks/own_code.h"
#include "benchmarks/perf_counters.h"
#include "benchmarks/process_probe.h"
#include "benchmarks/replay.h"
#include "schema/metrics.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double delta(std::uint64_t after, std::uint64_t before) {
  return after >= before ? double(after - before) : -double(before - after);
}

// Samples of the process around the timed region, and what answered.
struct Samples {
  ProcessSample before, after;
  std::optional<std::uint64_t> pss_before, pss_after;
  bool peak_reset = false;
  std::string peak_reset_error;
};

// The process probes' metrics, or why each is not measured.
void process_metrics(const Samples& s, double total_ms, std::uint64_t touched,
                     std::map<std::string, double>& m, Availability& a) {
  auto set = [&](std::string_view name, double v) { m[std::string(name)] = v; };
  auto not_measured = [&](std::string_view name, const std::string& why) {
    a.not_measured_because(std::string(name), why);
  };
  const ProcessSample &b = s.before, &e = s.after;
  if (b.status && e.status) {
    a.add_probe("proc_status");
    // Memory metrics are what the load added to this process.
    set(metric::kRssBytes, delta(e.rss_bytes, b.rss_bytes));
    set(metric::kRssFileBytes, delta(e.rss_file_bytes, b.rss_file_bytes));
    set(metric::kRssAnonBytes, delta(e.rss_anon_bytes, b.rss_anon_bytes));
  } else {
    for (auto name :
         {metric::kRssBytes, metric::kRssFileBytes, metric::kRssAnonBytes, metric::kPeakRssBytes})
      not_measured(name, "/proc/self/status has no VmRSS here");
  }
  // Without the reset, VmHWM is the peak since the process started: not the
  // load's, so not reported (the cell's other metrics still are).
  if (!s.peak_reset) {
    not_measured(metric::kPeakRssBytes, s.peak_reset_error);
  } else if (b.status && e.status) {
    a.add_probe("clear_refs");
    set(metric::kPeakRssBytes, delta(e.peak_rss_bytes, b.rss_bytes));
  }
  if (s.pss_before && s.pss_after) {
    a.add_probe("smaps_rollup");
    set(metric::kPssBytes, delta(*s.pss_after, *s.pss_before));
  } else {
    not_measured(metric::kPssBytes,
                 "/proc/self/smaps_rollup missing (Linux < 4.14, or a kernel without "
                 "CONFIG_PROC_PAGE_MONITOR)");
  }
  if (b.rusage && e.rusage) {
    a.add_probe("rusage");
    set(metric::kMajorFaults, delta(e.major_faults, b.major_faults));
    set(metric::kMinorFaults, delta(e.minor_faults, b.minor_faults));
  } else {
    for (auto name : {metric::kMajorFaults, metric::kMinorFaults})
      not_measured(name, "getrusage(RUSAGE_SELF) failed");
  }
  if (b.io && e.io) {
    a.add_probe("proc_io");
    const double read = delta(e.read_bytes, b.read_bytes);
    set(metric::kReadBytes, read);
    if (total_ms > 0) set(metric::kReadGbps, read / (total_ms * 1e6));
    if (touched > 0)
      set(metric::kReadAmplification, read / double(touched));
    else
      not_measured(metric::kReadAmplification, "the access pattern touches nothing");
  } else {
    for (auto name : {metric::kReadBytes, metric::kReadGbps, metric::kReadAmplification})
      not_measured(name,
                   "/proc/self/io missing (a kernel without task I/O accounting, "
                   "CONFIG_TASK_IO_ACCOUNTING)");
  }
}

// "perf:task-clock (inherit)". A counter that perf_event_paranoid limited to
// user mode says so, except the clocks: exclude_kernel limits their sampling,
// not their count (task-clock counts a pread's kernel time either way).
std::string perf_probe_name(const PerfCounter& c) {
  const bool clock = c.event() == "task-clock" || c.event() == "cpu-clock";
  return fmt::format("perf:{} ({}{})", c.event(), c.inherited() ? "inherit" : "this thread",
                     c.user_only() && !clock ? ", user mode only" : "");
}

// The perf counters' metrics (task_clock_ms, perf_<event>), or why not.
void perf_metrics(const PerfCounter& task_clock, const PerfCounterSet* perf,
                  std::map<std::string, double>& m, Availability& a) {
  if (auto v = task_clock.read()) {
    m[std::string(metric::kTaskClockMs)] = double(*v) / 1e6;
    a.add_probe(perf_probe_name(task_clock));
  } else {
    a.not_measured_because(std::string(metric::kTaskClockMs), task_clock.supported()
                                                                  ? "perf task-clock unreadable"
                                                                  : task_clock.error());
  }
  if (!perf) return;
  for (const auto& c : perf->counters()) {
    const std::string name = std::string(metric::kPerfPrefix) + c.event();
    if (auto v = c.read()) {
      m[name] = double(*v);
      a.add_probe(perf_probe_name(c));
    } else {
      a.not_measured_because(name, c.supported() ? "perf counter unreadable" : c.error());
    }
  }
}

// touch_p50_us / touch_p99_us from the timer, or why not.
void touch_metrics(const TouchTimer* timer, std::uint64_t pages, Measurement& out) {
  auto& a = out.availability;
  for (auto name : {metric::kTouchP50Us, metric::kTouchP99Us}) {
    if (!timer)
      a.not_measured_because(std::string(name),
                             "touch timing off (faultline-bench --touch-latency turns it on)");
    else if (pages == 0)
      a.not_measured_because(std::string(name), "the access pattern touches no page");
  }
  if (!timer || pages == 0) return;
  out.touch_latency_ns = timer->latency_ns();
  a.add_probe("touch_timer");
  out.metrics[std::string(metric::kTouchP50Us)] = out.touch_latency_ns->percentile(50) / 1e3;
  out.metrics[std::string(metric::kTouchP99Us)] = out.touch_latency_ns->percentile(99) / 1e3;
}

}  // namespace

RegionProbe untraced_region_probe(const std::string& why) {
  RegionProbe probe;
  probe.begin = [](const LoadCell&) {};
  probe.end = [](const LoadCell&) { return std::vector<std::pair<std::string, double>>{}; };
  probe.availability = [why] {
    Availability a;
    for (const auto& info : metric::kAll)
      if (info.family.starts_with("bpf_")) a.not_measured_because(std::string(info.name), why);
    return a;
  };
  return probe;
}

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
  // replay:FILE: the load reads (or the pass touches) the recording's ranges.
  std::optional<ReplayPlan> replay;
  if (cell.pattern.kind == PatternKind::kReplay) replay = plan_replay(cell.pattern, layout);
  const bool gaps = cell.pattern.replay_gaps;
  const std::vector<Range> ranges =
      replay ? replay->ranges : plan_ranges(cell.pattern, layout, opt.seed);
  out.pages_touched = pages_covered(ranges);
  out.touched_bytes = bytes_covered(ranges, layout.file_size);
  const Residency residency =
      cell.cache == CacheState::kCold ? make_cold(model, opt.global_drop) : make_warm(model);

  // Everything the probes need exists before the "before" samples.
  std::optional<TouchTimer> timer;
  if (opt.touch_latency && replay && !replay_can_time_touches(cell.strategy, *replay)) {
    for (auto name : {metric::kTouchP50Us, metric::kTouchP99Us})
      out.availability.not_measured_because(
          std::string(name), "the replay touches on several threads; the touch timer times one");
  } else if (opt.touch_latency) {
    timer.emplace(layout.file_size);
  }
  PerfCounter task_clock = PerfCounter::every_thread("task-clock");
  if (opt.region_probe && opt.region_probe->prepare) opt.region_probe->prepare(cell);
  prefault_own_code(model);  // our own code is not the load's I/O (own_code.h)
  Samples s;
  s.peak_reset = reset_peak_rss(&s.peak_reset_error);
  s.before = sample_process();
  s.pss_before = sample_pss();
  if (opt.region_probe) opt.region_probe->begin(cell);
  if (opt.region_begins) opt.region_begins();
  if (opt.perf) opt.perf->start();
  task_clock.reset();
  task_clock.enable();
  const auto stop_counters = [&] {
    task_clock.disable();
    if (opt.perf) opt.perf->stop();
    if (opt.region_ends) opt.region_ends();
  };

  // ---- timed region: open -> usable pointer -> first pass ----
  const auto t0 = Clock::now();
  Mapping mapping;
  try {
    mapping = replay ? replay_load(model, cell.strategy, *replay, gaps)
                     : load(model, cell.strategy, &layout);
  } catch (...) {
    stop_counters();
    if (opt.region_probe) opt.region_probe->end(cell);
    throw;
  }
  const auto t1 = Clock::now();
  if (replay)
    out.checksum = replay_touch(mapping, cell.strategy, *replay, gaps, timer ? &*timer : nullptr);
  else
    out.checksum = timer ? timer->touch(mapping.data(), mapping.size(), ranges)
                         : touch(mapping.data(), mapping.size(), ranges);
  const auto t2 = Clock::now();
  // ---- end of timed region ----

  stop_counters();
  s.after = sample_process();
  s.pss_after = sample_pss();
  // After the samples: what the probe does at its end (write a timeline) is
  // not the load's memory.
  std::vector<std::pair<std::string, double>> region;
  if (opt.region_probe) region = opt.region_probe->end(cell);

  out.seconds = std::chrono::duration<double>(t2 - t0).count();
  out.warnings = mapping.warnings();
  auto& m = out.metrics;
  auto& a = out.availability;
  const auto set = [&](std::string_view name, double v) { m[std::string(name)] = v; };
  const double total_ms = ms_between(t0, t2);
  a.add_probe("clock");
  set(metric::kReadyMs, ms_between(t0, t1));
  set(metric::kFirstPassMs, ms_between(t1, t2));
  set(metric::kTotalMs, total_ms);
  set(metric::kTouchedBytes, double(out.touched_bytes));
  if (out.touched_bytes > 0 && total_ms > 0)
    set(metric::kGbps, double(out.touched_bytes) / (total_ms * 1e6));
  else
    a.not_measured_because(
        std::string(metric::kGbps),
        fmt::format("the access pattern {} touches nothing (ready_ms times the load)",
                    to_string(cell.pattern)));
  process_metrics(s, total_ms, out.touched_bytes, m, a);
  set(metric::kResidentPct, residency.pct());
  a.add_probe(residency.method);
  perf_metrics(task_clock, opt.perf, m, a);
  touch_metrics(timer ? &*timer : nullptr, out.pages_touched, out);
  for (const auto& [name, value] : region) m[name] = value;
  if (opt.region_probe && opt.region_probe->availability) a.merge(opt.region_probe->availability());
  return out;
  // `mapping` is released here, outside the timed region.
}

}  // namespace faultline
