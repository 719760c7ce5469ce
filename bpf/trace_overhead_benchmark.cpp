// faultline-trace-overhead: the same loads with and without the Tracer
// attached (counts only, filtered to this process and the file), and the
// ratio traced / untraced at the end (issue 3, "Overhead").
//
//   sudo build/faultline-trace-overhead                  # 256 MiB file in /var/tmp
//   sudo build/faultline-trace-overhead --size 1G --benchmark_repetitions=5
//
// Loads: a cold sequential mmap:private pass (evicted before every
// iteration, outside the timed phase), and a warm mmap:private,advise=random
// fault storm (one minor fault per page, the tracer's worst case).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bpf/tracer.h"
#include "common/cli.h"
#include "common/size.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::uint64_t size_bytes = 256ull << 20;
  std::string dir = "/var/tmp";
  std::string file;  // use this file instead of generating one
} g_opt;

std::string g_path;
bool g_generated = false;

void make_file() {
  if (!g_opt.file.empty()) {
    g_path = g_opt.file;
    return;
  }
  g_path = fmt::format("{}/faultline-overhead-{}.bin", g_opt.dir, getpid());
  const int fd = open(g_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + g_path + ": " + std::strerror(errno));
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> block(1 << 17);
  for (std::uint64_t left = g_opt.size_bytes; left > 0;) {
    for (auto& w : block) w = rng();
    const std::size_t n = std::min<std::uint64_t>(left, block.size() * 8);
    if (write(fd, block.data(), n) != ssize_t(n)) throw std::runtime_error("write failed");
    left -= n;
  }
  fsync(fd);
  close(fd);
  g_generated = true;
}

std::uint64_t file_size() {
  struct stat st;
  stat(g_path.c_str(), &st);
  return st.st_size;
}

void fadvise(int advice) {
  const int fd = open(g_path.c_str(), O_RDONLY | O_CLOEXEC);
  posix_fadvise(fd, 0, 0, advice);
  close(fd);
}

void warm() {
  const int fd = open(g_path.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<char> buf(1 << 20);
  while (read(fd, buf.data(), buf.size()) > 0) {
  }
  close(fd);
}

// mmap:private (+ madvise) and touch one byte per page; returns seconds.
// With `write`, the mapping is PROT_READ|PROT_WRITE and every page is
// written: a copy-on-write fault per page, each one a filemap fault (no
// fault-around): the most tracer events per second a file mapping gives.
double mapped_pass(int advice, bool write = false) {
  const auto t0 = Clock::now();
  const int fd = open(g_path.c_str(), O_RDONLY | O_CLOEXEC);
  const std::uint64_t size = file_size();
  const int prot = write ? PROT_READ | PROT_WRITE : PROT_READ;
  auto* p = static_cast<volatile char*>(mmap(nullptr, size, prot, MAP_PRIVATE, fd, 0));
  close(fd);
  if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
  if (advice >= 0) madvise(const_cast<char*>(p), size, advice);
  for (std::uint64_t off = 0; off < size; off += 4096) {
    if (write)
      p[off] = 1;
    else
      (void)p[off];
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  munmap(const_cast<char*>(p), size);
  return s;
}

// BM_Paired results: load -> (traced/untraced, traced user faults per second).
std::map<std::string, std::pair<double, double>> g_paired;

// Kernel-measured cost per program, from the traced:3 runs.
std::map<std::string, std::vector<faultline::bpf::ProgramStats>> g_program_stats;

// traced: 0 = no tracer; 1 = counts-only tracer filtered to this process and
// the file (what faultline-bench --trace attaches); 2 = the same plus
// "readahead never used" tracking (what `faultline trace --file` attaches);
// 3 = 2 with the kernel timing every program run (BPF_ENABLE_STATS) for the
// ns-per-event table (its own overhead makes its time meaningless).
std::unique_ptr<faultline::bpf::Tracer> maybe_trace(benchmark::State& state, int traced) {
  if (!traced) return nullptr;
  auto tracer = std::make_unique<faultline::bpf::Tracer>(
      faultline::bpf::TraceFilter{.pids = {getpid()},
                                  .files = {g_path},
                                  .track_unused = traced >= 2,
                                  .program_stats = traced == 3});
  if (!tracer->ok() || !tracer->start()) {
    state.SkipWithError(tracer->error().c_str());
    return nullptr;
  }
  return tracer;
}

void report_trace(benchmark::State& state, faultline::bpf::Tracer* tracer,
                  const faultline::bpf::TraceCounters& before, double seconds, const char* load) {
  if (!tracer) return;
  const auto d = tracer->snapshot() - before;
  // Events = tracepoint hits that passed the filters and were counted.
  const double events =
      double(d.user_faults + d.filemap_faults + d.faultaround_calls + d.ra_sync + d.ra_async +
             d.ra_order + d.ra_unbounded + d.pagecache_add_folios + d.pagecache_evict_folios +
             d.bio_requests + d.bio_completed + d.read_calls + d.mm_faults);
  state.counters["bpf_events_per_s"] = seconds > 0 ? events / seconds : 0;
  state.counters["bpf_faults_per_s"] = seconds > 0 ? double(d.user_faults) / seconds : 0;
  state.counters["bpf_user_faults"] =
      benchmark::Counter(double(d.user_faults), benchmark::Counter::kAvgIterations);
  state.counters["bpf_dropped"] = double(d.dropped);
  if (tracer->filter().program_stats) {
    g_program_stats[load] = tracer->program_stats();
  }
}

void BM_ColdSequentialMmap(benchmark::State& state) {
  auto tracer = maybe_trace(state, state.range(0));
  const auto before = tracer ? tracer->snapshot() : faultline::bpf::TraceCounters{};
  double total = 0;
  for (auto _ : state) {
    fadvise(POSIX_FADV_DONTNEED);  // outside the timed phase (manual time)
    const double s = mapped_pass(-1);
    state.SetIterationTime(s);
    total += s;
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(file_size()));
  report_trace(state, tracer.get(), before, total, "BM_ColdSequentialMmap");
}

void BM_WarmRandomFaultStorm(benchmark::State& state) {
  warm();
  auto tracer = maybe_trace(state, state.range(0));
  const auto before = tracer ? tracer->snapshot() : faultline::bpf::TraceCounters{};
  double total = 0;
  for (auto _ : state) {
    const double s = mapped_pass(MADV_RANDOM);
    state.SetIterationTime(s);
    total += s;
  }
  report_trace(state, tracer.get(), before, total, "BM_WarmRandomFaultStorm");
}

// Not a model-loading strategy (it writes, PROT_WRITE): the tracer's worst
// case, one traced file fault per page.
void BM_WarmCowFaultStorm(benchmark::State& state) {
  warm();
  auto tracer = maybe_trace(state, state.range(0));
  const auto before = tracer ? tracer->snapshot() : faultline::bpf::TraceCounters{};
  double total = 0;
  for (auto _ : state) {
    const double s = mapped_pass(MADV_RANDOM, true);
    state.SetIterationTime(s);
    total += s;
  }
  state.counters["faults_per_s"] =
      total > 0 ? double(state.iterations()) * double(file_size() / 4096) / total : 0;
  report_trace(state, tracer.get(), before, total, "BM_WarmCowFaultStorm");
}

// Paired: every iteration runs the load once untraced and once traced (the
// tracer's links attached only for that pass; the order alternates), so
// drift and noisy neighbours hit both alike. Counter traced_over_untraced is
// the ratio of the summed times. Arg: 0 cold sequential, 1 warm advise=random,
// 2 warm copy-on-write storm; the tracer is counts-only (faultline-bench).
void BM_Paired(benchmark::State& state) {
  const int load = state.range(0);
  auto pass = [&] {
    if (load == 0) fadvise(POSIX_FADV_DONTNEED);
    return load == 0 ? mapped_pass(-1) : mapped_pass(MADV_RANDOM, load == 2);
  };
  if (load != 0) warm();
  faultline::bpf::Tracer tracer({.pids = {getpid()}, .files = {g_path}});
  if (!tracer.ok()) {
    state.SkipWithError(tracer.error().c_str());
    return;
  }
  double plain = 0, traced = 0;
  std::uint64_t n = 0;
  const auto before = tracer.snapshot();
  for (auto _ : state) {
    const bool traced_first = n++ % 2;
    double t = 0, u = 0;
    for (int k = 0; k < 2; ++k) {
      if ((k == 0) == traced_first) {
        if (!tracer.start()) {
          state.SkipWithError(tracer.error().c_str());
          return;
        }
        t = pass();
        tracer.stop();
      } else {
        u = pass();
      }
    }
    traced += t;
    plain += u;
    state.SetIterationTime(t + u);
  }
  const auto d = tracer.snapshot() - before;
  state.counters["traced_over_untraced"] = plain > 0 ? traced / plain : 0;
  state.counters["bpf_faults_per_s"] = traced > 0 ? double(d.user_faults) / traced : 0;
  state.counters["bpf_dropped"] = double(d.dropped);
  const char* names[] = {"cold sequential mmap:private", "warm mmap:private,advise=random",
                         "warm copy-on-write storm"};
  g_paired[names[load]] = {traced / plain, double(d.user_faults) / traced};
}
BENCHMARK(BM_Paired)
    ->ArgName("load")
    ->DenseRange(0, 2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(4.0);

BENCHMARK(BM_ColdSequentialMmap)
    ->ArgName("traced")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_WarmRandomFaultStorm)
    ->ArgName("traced")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_WarmCowFaultStorm)
    ->ArgName("traced")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

// Prints what the console shows, then traced/untraced ratios per load.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred || run.iterations == 0) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      const std::string name = run.run_name.str();
      const auto slash = name.find("/traced:");
      if (slash == std::string::npos) continue;
      const double per_iter = run.GetAdjustedRealTime();
      const int variant = name[slash + 8] - '0';
      if (variant < 3) times_[variant][name.substr(0, slash)] = per_iter;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const char* what[] = {"", "counts-only", "with unused-RA tracking"};
    for (const auto& [load, plain] : times_[0]) {
      for (int v = 1; v <= 2; ++v) {
        const auto it = times_[v].find(load);
        if (it == times_[v].end() || plain <= 0) continue;
        fmt::print("{}: traced ({}) / untraced = {:.3f} ({:+.1f} %)\n", load, what[v],
                   it->second / plain, 100.0 * (it->second / plain - 1.0));
      }
    }
    for (const auto& [load, r] : g_paired)
      fmt::print("paired, {}: traced / untraced = {:.3f} ({:+.1f} %), {:.0f} traced faults/s\n",
                 load, r.first, 100.0 * (r.first - 1.0), r.second);
    for (const auto& [load, stats] : g_program_stats) {
      fmt::print("{} (traced:3), kernel-measured cost per program:\n", load);
      for (const auto& p : stats)
        if (p.runs)
          fmt::print("  {:<44} {:>12} runs {:>8.0f} ns/run\n", p.name, p.runs,
                     double(p.run_time_ns) / double(p.runs));
    }
  }

 private:
  std::map<std::string, double> times_[3];  // by variant: load -> time per iteration
};

}  // namespace

int main(int argc, char** argv) {
  // Google Benchmark takes its --benchmark_* flags first; ours are the rest.
  CLI::App app{
      "faultline-trace-overhead: the same loads with and without the eBPF tracer; "
      "prints the ratio traced / untraced",
      "faultline-trace-overhead"};
  std::string size = "256M";
  std::uint64_t size_mib = 0;
  auto* size_opt = app.add_option("--size", size, "size of the generated file (e.g. 256M, 1G)")
                       ->check(faultline::cli::size())
                       ->capture_default_str();
  app.add_option("--size-mib", size_mib, "the same in MiB (older spelling)")
      ->check(CLI::Range(1, 1 << 24))
      ->excludes(size_opt);
  app.add_option("--dir", g_opt.dir, "folder of the generated file")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--file", g_opt.file, "use this file instead of generating one")
      ->check(CLI::ExistingFile);
  faultline::cli::add_version_flag(app, "faultline-trace-overhead");
  static CLI::App* help_app = &app;  // --help: ours, then Google Benchmark's
  benchmark::Initialize(&argc, argv, [] {
    fmt::print("{}\nGoogle Benchmark flags (all supported):\n", help_app->help());
    benchmark::PrintDefaultHelp();
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return faultline::cli::exit_status(app, e);
  }
  g_opt.size_bytes = size_mib ? size_mib << 20 : faultline::parse_size(size, false);
  if (auto why = faultline::bpf::tracing_unavailable_reason())
    fmt::print(stderr, "tracing unavailable: {} (traced runs will be skipped)\n", *why);
  try {
    make_file();
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-trace-overhead: {}\n", e.what());
    return 1;
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (g_generated) unlink(g_path.c_str());
  return 0;
}
