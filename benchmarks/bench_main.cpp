// faultline-bench: Google Benchmark cells for every load strategy x access
// pattern x cache state on one model file. Every --benchmark_* flag works as
// usual; faultline's own flags select the model and the matrix.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "benchmarks/default_model.h"
#include "benchmarks/load_benchmark.h"
#include "benchmarks/perf_counters.h"
#include "benchmarks/region_protocol.h"
#if FAULTLINE_BENCH_BPF
#include "bpf/region_tracer.h"
#endif
#include "common/cli.h"
#include "common/host_lock.h"
#include "common/size.h"
#include "common/split_list.h"
#include "datasets/format_error.h"
#include "schema/metrics.h"

namespace {

struct Options {
  std::string model;
  std::string size = "1G";
  std::string strategies;
  std::string patterns;
  std::string caches = "cold,warm";
  int iterations = 3;
  bool drop_caches = false;
  std::string perf_events;
  std::uint64_t seed = 42;
  bool list_strategies = false;
  bool trace = false;
  std::string trace_timeline;
  std::vector<int> trace_proxy;
  std::string json_path;
  bool touch_latency = false;
  bool no_wait = false;
  bool quiet = false;
};

// -q: Google Benchmark's console table is not printed (the results still go
// to --json and --benchmark_out).
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

CLI::App* g_app = nullptr;

void print_help() {
  std::cout << g_app->help() << "\nGoogle Benchmark flags (all supported):\n";
  benchmark::PrintDefaultHelp();
}

void build_cli(CLI::App& app, Options& o) {
  app.description(
      "faultline-bench: how fast does each way of loading a model file start, and how much "
      "memory does it hold?\nBenchmarks are named load/<strategy>/<pattern>/<cache>; select "
      "cells with --benchmark_filter.");
  app.add_option("--model", o.model,
                 "model file (GGUF, safetensors or raw); default: a generated "
                 "GGUF model of --size in the cache folder")
      ->check(CLI::ExistingFile);
  app.add_option("--size", o.size, "size of the generated default model (e.g. 1G, 512M)")
      ->check(faultline::cli::size())
      ->capture_default_str();
  app.add_option("--strategies,--strategy", o.strategies,
                 "comma-separated strategy specs (default: every strategy; see --list-strategies)");
  app.add_option(
      "--patterns,--pattern", o.patterns,
      "comma-separated access patterns: none, first-layer, forward, sequential, "
      "random:N, moe:K/N, replay:FILE[,gaps=on] (a recording: recording/README.md); default: every "
      "pattern but replay that fits the model");
  app.add_option("--cache,--caches", o.caches, "cache states: cold, warm or cold,warm")
      ->capture_default_str();
  app.add_option("--reps,--iterations", o.iterations,
                 "repetitions: loads per benchmark, each with its own untimed evict or warm; 0 "
                 "lets Google Benchmark choose by --benchmark_min_time")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_flag("--drop-caches", o.drop_caches,
               "cold: also drop the whole page cache (root), not just the model's pages");
  app.add_option("--perf-events", o.perf_events,
                 "extra perf events to count over every thread, comma-separated (e.g. "
                 "cycles,instructions); reported as perf_<event>, or warned about once and not "
                 "measured when the machine lacks them");
  app.add_option("--seed", o.seed, "seed of random:N and moe:K/N")->capture_default_str();
  app.add_flag("--trace", o.trace,
               "add the eBPF tracer's bpf_* counters (faults, readahead, page cache, block I/O) of "
               "each timed region (root or CAP_BPF+CAP_PERFMON; otherwise one warning and no "
               "bpf_* counters)");
  app.add_option("--trace-timeline", o.trace_timeline,
                 "with --trace: write each cell's per-event timeline and RSS samples of its last "
                 "timed region into this folder as <cell>.timeline.json")
      ->check(CLI::ExistingDirectory);
  app.add_option("--trace-proxy", o.trace_proxy,
                 "REQUEST_FD,REPLY_FD: a tracer in another process (faultline run, which keeps "
                 "the privileges while this runs as the invoking user) traces each timed region "
                 "on request (benchmarks/region_protocol.h)")
      ->delimiter(',')
      ->expected(2)
      ->excludes("--trace")
      ->excludes("--trace-timeline");
  app.add_option("--json", o.json_path,
                 "also write faultline's own per-cell results to FILE as JSON (metrics, what was "
                 "not measured and why, the probes used, warnings; benchmarks/README.md)")
      ->type_name("FILE");
  app.add_flag("--touch-latency", o.touch_latency,
               "time the first touch of each page (touch_p50_us, touch_p99_us, and the histogram "
               "in --json): the fault latency as the program sees it, without any probe; costs "
               "a clock read per page, so off by default");
  app.add_flag("--no-wait", o.no_wait,
               "when another measuring run holds the host lock, refuse at once (exit 3, naming "
               "it) instead of waiting; only cold cells take it");
  app.add_flag("--list-strategies", o.list_strategies,
               "print the strategies and presets, then exit");
  app.add_flag("-q,--quiet", o.quiet,
               "no progress and no results table (the results still go to --json and "
               "--benchmark_out; warnings and errors still print)");
  faultline::cli::add_version_flag(app, "faultline-bench");
  app.footer("Strategy presets (each a name for its expansion):\n" + faultline::preset_help());
}

// Cold cells evict the model and may drop the whole page cache: one such run
// per host (common/host_lock.h), held until exit. Taken before the model
// is read, since even its header read by a second run would bring back pages
// the first one just evicted. A run started by a holder
// (FAULTLINE_HOST_LOCK=held, as the harness sets) is covered by it.
std::unique_ptr<faultline::HostLock> lock_host(const std::string& model, bool wait) {
  faultline::HostLock::Options o;
  o.what = fmt::format("faultline-bench (cold cells of {})",
                       model.empty() ? "the default model" : model);
  o.wait = wait;
  o.on_wait = [](const std::string& holder) {
    fmt::print(stderr,
               "faultline-bench: waiting for the host lock {}: held by {} (cold cells need the "
               "machine to themselves; --no-wait exits instead)\n",
               faultline::HostLock::path(), holder);
  };
  try {
    return std::make_unique<faultline::HostLock>(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-bench: {}\n", e.what());
    std::exit(3);
  }
}

void list_strategies() {
  fmt::print("strategies registered by default:\n");
  for (const auto& s : faultline::default_strategy_specs()) fmt::print("  {}\n", s);
  fmt::print("\npresets:\n");
  for (const auto& p : faultline::presets())
    fmt::print("  {:<18} = {}\n      {}\n      {}\n", p.name, p.expansion, p.description,
               p.validated);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"", "faultline-bench"};
  Options o;
  build_cli(app, o);
  g_app = &app;
  benchmark::Initialize(&argc, argv, print_help);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return faultline::cli::exit_status(app, e);
  }
  if (o.list_strategies) {
    list_strategies();
    return 0;
  }

  faultline::BenchConfig cfg;
  try {
    for (auto c : faultline::split_list(o.caches))
      cfg.caches.push_back(faultline::parse_cache_state(c));
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-bench: {}\n", e.what());
    return 2;
  }
  std::unique_ptr<faultline::HostLock> host_lock;
  if (std::find(cfg.caches.begin(), cfg.caches.end(), faultline::CacheState::kCold) !=
      cfg.caches.end())
    host_lock = lock_host(o.model, !o.no_wait);
  try {
    if (o.model.empty())
      o.model = faultline::ensure_default_model(faultline::parse_size(o.size, false), o.quiet);
    cfg.model = o.model;
    cfg.layout = faultline::load_layout(o.model);
    if (o.strategies.empty())
      for (const auto& s : faultline::default_strategy_specs())
        cfg.strategies.push_back(faultline::parse_strategy(s));
    else
      cfg.strategies = faultline::parse_strategy_list(o.strategies);
    cfg.patterns = o.patterns.empty() ? faultline::default_patterns(cfg.layout)
                                      : faultline::parse_pattern_list(o.patterns);
    for (const auto& p : cfg.patterns) faultline::plan_ranges(p, cfg.layout, o.seed);  // fits?
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-bench: {}\n", e.what());
    return 2;
  }
  cfg.iterations = o.iterations;
  cfg.measure.global_drop = o.drop_caches;
  cfg.measure.seed = o.seed;
  cfg.measure.touch_latency = o.touch_latency;
  if (!o.perf_events.empty()) {
    // Every event is kept: one the machine lacks is warned about once here
    // and is not measured (with this reason) in every cell's --json entry.
    for (auto ev : faultline::split_list(o.perf_events)) {
      faultline::PerfCounter probe{std::string(ev)};
      if (!probe.supported()) fmt::print(stderr, "faultline-bench: warning: {}\n", probe.error());
      cfg.perf_events.emplace_back(ev);
    }
  }

  // --trace without a tracer (unprivileged, or built without bpf/): the
  // cells run untraced and every bpf_* metric is not measured, with why.
#if FAULTLINE_BENCH_BPF
  std::unique_ptr<faultline::bpf::RegionTracer> tracer;
#endif
  faultline::RegionProbe proxy;
  if (!o.trace_proxy.empty()) {
    proxy = faultline::remote_region_probe(o.trace_proxy[0], o.trace_proxy[1]);
    cfg.measure.region_probe = &proxy;
    benchmark::AddCustomContext("faultline_trace", "by the calling process (--trace-proxy)");
  } else if (o.trace || !o.trace_timeline.empty()) {
#if FAULTLINE_BENCH_BPF
    tracer = std::make_unique<faultline::bpf::RegionTracer>(cfg.model, o.trace_timeline);
    if (tracer->ok()) cfg.measure.region_probe = &tracer->probe();
    const std::string why = tracer->ok() ? "" : tracer->error();
#else
    const std::string why = std::string("tracing unavailable: ") + faultline::kBuiltWithoutBpf;
#endif
    if (!why.empty()) {
      fmt::print(stderr, "faultline-bench: warning: {}; running untraced\n", why);
      proxy = faultline::untraced_region_probe(why);
      cfg.measure.region_probe = &proxy;
    }
    benchmark::AddCustomContext("faultline_trace", why.empty() ? "on" : why);
  }
  benchmark::AddCustomContext("faultline_uid", std::to_string(::geteuid()));
  benchmark::AddCustomContext("faultline_model", cfg.model);
  benchmark::AddCustomContext("faultline_model_format", faultline::to_string(cfg.layout.format));
  benchmark::AddCustomContext("faultline_model_bytes", std::to_string(cfg.layout.file_size));
  benchmark::AddCustomContext("faultline_tensors", std::to_string(cfg.layout.tensors.size()));
  benchmark::AddCustomContext("faultline_touch_latency", o.touch_latency ? "on" : "off");
  faultline::BenchResults results;
  if (!o.json_path.empty()) cfg.results = &results;
  faultline::register_load_benchmarks(cfg);
  SilentReporter silent;
  if (o.quiet)
    benchmark::RunSpecifiedBenchmarks(&silent);
  else
    benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!o.json_path.empty()) {
    try {
      results.write(o.json_path, cfg.model, cfg.layout.file_size);
    } catch (const std::exception& e) {
      fmt::print(stderr, "faultline-bench: {}\n", e.what());
      return 1;
    }
  }
  return 0;
}
