#include "harness/cell_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "common/credentials.h"
#include "common/interrupt.h"
#include "common/path_safe.h"
#include "common/process.h"
#include "common/size.h"
#include "common/unique_fd.h"
#include "harness/bench_json.h"
#include "harness/doctor_verdicts.h"
#include "harness/fleet.h"
#include "harness/program_cell.h"
#include "schema/metrics.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/region_server.h"
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line.find("***WARNING***") == std::string::npos) last = line;
  return last;
}

struct Launch {
  ExitInfo exit;
  std::map<std::string, double> metrics;
  std::vector<std::map<std::string, double>> fleet;
  std::optional<std::string> error;
  std::vector<std::string> warnings;
  Availability availability;
  std::optional<std::string> trace_error;  // a traced repetition's tracer failed: why
};

bool is_bpf_metric(const std::string& name) {
  return name.starts_with("bpf_");
}

}  // namespace

// A traced repetition's not_measured: every bpf_* metric the tracer did not
// give, with why (what it said it cannot measure, or why it did not run). An
// untraced repetition lists none (its `traced: false` says it).
void trace_availability(bool traced_rep, const std::string& why_untraced,
                        const std::map<std::string, double>& metrics, Availability& a) {
  if (!traced_rep) {
    for (auto it = a.not_measured.begin(); it != a.not_measured.end();)
      it = is_bpf_metric(it->first) ? a.not_measured.erase(it) : std::next(it);
    return;
  }
  for (const auto& m : metric::kAll) {
    const std::string name(m.name);
    if (is_bpf_metric(name) && !metrics.count(name))
      a.not_measured_because(
          name, why_untraced.empty()
                    ? std::string("the tracer reported no value for it in this repetition")
                    : "this traced repetition ran untraced: " + why_untraced);
  }
}

namespace {

Launch run_bench(const RunContext& ctx, const Cell& cell, const std::string& stem,
                 const std::vector<std::string>& procs) {
  const Plan& plan = *ctx.plan;
  std::string json_part = ctx.store->path("raw/" + stem + ".json.part");
  std::string log = ctx.store->path("raw/" + stem + ".log");
  std::vector<std::string> argv = {ctx.bench,
                                   "--model",
                                   plan.model,
                                   "--strategies",
                                   cell.strategy,
                                   "--patterns",
                                   cell.pattern,
                                   "--cache",
                                   cell.cache,
                                   "--iterations",
                                   "1",
                                   "--seed",
                                   std::to_string(plan.seed),
                                   "--benchmark_filter=" + exact_filter(cell.name()),
                                   "--json",
                                   json_part};
  for (auto& a : global_drop_for_bench(plan.drop_caches, cell.cache, ctx.user))
    argv.push_back(std::move(a));
  // Timed-region trace counters, in traced repetitions only: the tracer runs
  // here (with the harness's privileges) and the bench asks it to begin and
  // end each timed region (bpf/region_server.h); it also records the region's
  // per-event timeline and RSS samples. Untraced repetitions run the bench
  // alone: their times, memory and faults are the headline numbers.
  const bool traced = ctx.trace && cell.traced;
  // The first-touch timer costs ~0.1 µs per page: evidence repetitions only.
  if (cell.traced && plan.processes == 1) argv.push_back("--touch-latency");
  std::string timeline_dir;
  UniqueFd request_read, request_write, reply_read, reply_write;
  if (traced) {
    int request[2], reply[2];
    if (::pipe2(request, O_CLOEXEC) != 0 || ::pipe2(reply, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe");
    request_read.reset(request[0]);
    request_write.reset(request[1]);
    reply_read.reset(reply[0]);
    reply_write.reset(reply[1]);
    argv.insert(argv.end(), {"--trace-proxy", "3,4"});
    timeline_dir = ctx.store->path("raw/." + stem + ".timeline");
    std::error_code ec;
    fs::create_directories(timeline_dir, ec);
    if (ec) timeline_dir.clear();
  }
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Launch l;
  SpawnOptions spawn_options{argv, procs, -1, log_fd.get(), log_fd.get()};
  if (traced) spawn_options.fds = {{request_write.get(), 3}, {reply_read.get(), 4}};
  spawn_options.as_user = ctx.user;
  pid_t pid = spawn(spawn_options);
  request_write.reset();  // the bench holds the other ends now
  reply_read.reset();
#if FAULTLINE_HARNESS_BPF
  std::unique_ptr<bpf::RegionServer> server;
  if (traced) {
    const FsIds root_files = FsIds::root();  // tracefs and BTF are root's
    server = std::make_unique<bpf::RegionServer>(plan.model, timeline_dir, pid, request_read.get(),
                                                 reply_write.get());
    if (!server->ok()) {
      l.warnings.push_back("tracing off for this cell: " + server->error());
      l.trace_error = server->error();
    }
  }
  l.exit = wait_child(pid, plan.cell_timeout_s, [&] {
    if (!server) {
      ::usleep(10000);
    } else if (!server->serve(10)) {
      // A bench that breaks the protocol is not trusted to go on.
      l.error = "faultline-bench broke the tracing protocol: " + server->violation();
      ::kill(pid, SIGKILL);
    }
  });
  // The bpf_* counters are the tracer's own, not what the bench reported.
  std::map<std::string, double> traced_metrics;
  Availability tracer_availability;
  if (server) {
    traced_metrics = server->last_metrics();
    tracer_availability = server->availability();
  }
#else
  l.exit = wait_child(pid, plan.cell_timeout_s);
#endif
  if (l.exit.interrupted) {
    ::unlink(json_part.c_str());
    ::unlink(log.c_str());
    std::error_code ec;
    if (!timeline_dir.empty()) fs::remove_all(timeline_dir, ec);
    return l;
  }
  if (l.exit.exit_code == 0) {
    try {
      auto r = read_bench_json(json_part, cell.name());
      l.metrics = r.metrics;
      l.error = r.error;
      l.availability = r.availability;
      l.warnings.insert(l.warnings.end(), r.warnings.begin(), r.warnings.end());
      if (int fd = ::open(json_part.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ::fsync(fd);  // durable before the row that names it
        ::close(fd);
      }
      fs::rename(json_part, ctx.store->path("raw/" + stem + ".json"));
    } catch (const std::exception& e) {
      l.error = e.what();
    }
    if (!timeline_dir.empty()) {
      std::error_code ec;
      for (const auto& f : fs::directory_iterator(timeline_dir, ec))
        fs::rename(f.path(), ctx.store->path("raw/" + stem + ".timeline.json"), ec);
    }
  } else if (!l.error) {
    std::string tail = log_tail(log);
    l.error = l.exit.term_signal
                  ? fmt::format("faultline-bench killed by signal {} ({})", *l.exit.term_signal,
                                strsignal(*l.exit.term_signal))
                  : fmt::format("faultline-bench exited with {}{}{}", l.exit.exit_code.value_or(-1),
                                tail.empty() ? "" : ": ", tail);
  }
  // The bpf_* counters are the tracer's own, never the bench's.
  for (auto it = l.metrics.begin(); it != l.metrics.end();)
    it = is_bpf_metric(it->first) ? l.metrics.erase(it) : std::next(it);
#if FAULTLINE_HARNESS_BPF
  l.metrics.insert(traced_metrics.begin(), traced_metrics.end());
  l.availability.merge(tracer_availability);
#endif
  std::error_code ec;
  fs::remove(json_part, ec);
  if (!timeline_dir.empty()) fs::remove_all(timeline_dir, ec);
  return l;
}

}  // namespace

std::vector<std::string> global_drop_for_bench(bool drop_caches, const std::string& cache,
                                               const Credentials* user) {
  if (!drop_caches) return {};
  if (!user) return {"--drop-caches"};
  // The bench, as the user, then evicts the model's own pages as always.
  if (cache == "cold" && can_drop_caches()) drop_global_caches();
  return {};
}

std::string raw_stem(const Cell& cell, int index) {
  return fmt::format("{:04d}-{}-{}-{}-rep{}", index + 1, path_safe(cell.strategy),
                     path_safe(cell.pattern), path_safe(cell.cache), cell.rep);
}

std::optional<runs::Row> run_cell(const RunContext& ctx, const Cell& cell, int index) {
  const Plan& plan = *ctx.plan;
  runs::Row row;
  row.run_id = ctx.store->run_id();
  row.strategy = cell.strategy;
  row.pattern = cell.pattern;
  row.cache = cell.cache;
  row.rep = cell.rep;
  row.started_at = utc_iso8601();
  row.model = plan.model;
  row.model_bytes = plan.model_bytes;
  row.processes = plan.processes;
  row.memory_limit_bytes = plan.memory_limit_bytes;
  // An evidence repetition (the tracer when it can attach, the timeline, the
  // RSS sampler, the first-touch timer): its times are not headline numbers,
  // whether or not the tracer attached.
  row.traced = cell.traced;
  const std::string stem = raw_stem(cell, index);
  if (is_program_strategy(cell.strategy)) return run_program_cell(ctx, cell, stem, std::move(row));

  std::unique_ptr<Cgroup> cgroup;
  if (ctx.use_cgroups) {
    try {
      cgroup = std::make_unique<Cgroup>(ctx.cgroups, plan.memory_limit_bytes);
    } catch (const std::exception& e) {
      if (plan.memory_limit_bytes) {  // the limit is the point of the cell
        row.status = runs::Status::kFailed;
        row.error = e.what();
        return row;
      }
      row.warnings.push_back(fmt::format("ran without its own cgroup: {}", e.what()));
    }
  }
  std::vector<std::string> procs = cgroup ? cgroup->procs_files() : std::vector<std::string>{};

  // Why a traced repetition has no bpf_* ("" when it has them, or is untraced).
  std::string why_untraced = cell.traced && !ctx.trace ? ctx.trace_off : "";
#if FAULTLINE_HARNESS_BPF
  std::unique_ptr<bpf::Tracer> tracer;
  std::optional<bpf::TraceCounters> at_release, at_all_ready;
  // A single faultline-bench has its timed regions traced on request
  // (run_bench); a fleet of faultline-hold loaders is traced here by the
  // cell's cgroup, over the same scope: from the barrier's release to the
  // last loader's ready.
  const bool trace_fleet = ctx.trace && cell.traced && plan.processes > 1;
  if (trace_fleet && cgroup && cgroup->id()) {
    const FsIds root_files = FsIds::root();  // tracefs and BTF are root's
    bpf::TraceFilter filter;
    filter.cgroup_path = cgroup->paths().front();  // the v2 directory (made first)
    filter.files = {plan.model};
    tracer = std::make_unique<bpf::Tracer>(filter);
    if (!tracer->ok() || !tracer->start()) {
      row.warnings.push_back("tracing off for this cell: " + tracer->error());
      why_untraced = tracer->error();
      tracer.reset();
    }
  } else if (trace_fleet) {
    row.warnings.push_back("tracing off for this cell: no cgroup v2 identity for the cell");
    why_untraced = "no cgroup v2 identity for the cell";
  }
  FleetHooks hooks;
  if (tracer) {
    hooks.at_release = [&] { at_release = tracer->snapshot(); };
    hooks.at_all_ready = [&] { at_all_ready = tracer->snapshot(); };
  }
#else
  FleetHooks hooks;
#endif

  Launch l;
  try {
    if (plan.processes > 1) {
      auto f = run_fleet(ctx.hold, plan, cell, procs, ctx.store->path("raw/" + stem + ".log"),
                         ctx.user, hooks);
      l.exit = f.exit;
      l.metrics = f.sums;
      l.fleet = f.processes;
      l.error = f.error;
      l.warnings = f.warnings;
    } else {
      l = run_bench(ctx, cell, stem, procs);
      if (l.trace_error) why_untraced = *l.trace_error;
    }
  } catch (const std::exception& e) {
    l.error = e.what();
  }
  if (l.exit.interrupted || interrupted()) return std::nullopt;

#if FAULTLINE_HARNESS_BPF
  if (tracer) {
    tracer->stop();
    l.availability.merge(tracer->availability());
    if (at_release && at_all_ready) {
      auto delta = *at_all_ready - *at_release;
      for (const auto& [name, value] : bpf::to_metrics(delta)) l.metrics[name] = value;
      try {
        ctx.store->write_json("raw/" + stem + ".trace.json", bpf::to_json(delta));
        row.raw.push_back("raw/" + stem + ".trace.json");
      } catch (const std::exception& e) {
        l.warnings.push_back(fmt::format("trace JSON not written: {}", e.what()));
      }
    } else {
      why_untraced = "the fleet never reached its timed region";
    }
  }
#endif

  std::uint64_t oom_kills = 0;
  if (cgroup) {
    oom_kills = cgroup->oom_kills();
    if (auto peak = cgroup->peak_bytes()) l.metrics[std::string(metric::kCgroupPeakBytes)] = *peak;
    l.metrics[std::string(metric::kCgroupOomKills)] = double(oom_kills);
    if (auto v = cgroup->memory_stat("workingset_refault_file"))
      l.metrics[std::string(metric::kCgroupRefaults)] = double(*v);
    if (auto v = cgroup->memory_stat("pgmajfault"))
      l.metrics[std::string(metric::kCgroupMajorFaults)] = double(*v);
    cgroup->remove();
  }
  if (ctx.trace && cell.traced && plan.processes == 1) {
    if (!l.metrics.count(std::string(metric::kBpfDropped))) {
      row.warnings.push_back("faultline-bench ran untraced (see its log in raw/)");
      if (why_untraced.empty())
        why_untraced = "faultline-bench did not ask for its region to be traced";
    }
  }
  trace_availability(cell.traced, why_untraced, l.metrics, l.availability);
  if (auto it = l.metrics.find(std::string(metric::kBpfDropped));
      it != l.metrics.end() && it->second > 0)
    l.warnings.push_back(fmt::format("the tracer dropped {:.0f} timeline events", it->second));
  row.exit_code = l.exit.exit_code;
  row.term_signal = l.exit.term_signal;
  row.wall_s = l.exit.wall_s;
  for (const auto& [name, why] : l.availability.not_measured)
    if (!l.metrics.count(name)) row.not_measured.emplace(name, why);
  row.probes = l.availability.probes;
  row.metrics = std::move(l.metrics);
  row.fleet = std::move(l.fleet);
  row.warnings.insert(row.warnings.end(), l.warnings.begin(), l.warnings.end());
  apply_doctor_verdicts(ctx.doctor_failed, row);
  const bool sigkilled = l.exit.term_signal == SIGKILL;
  if (oom_kills > 0 || (sigkilled && plan.memory_limit_bytes && !l.exit.timed_out)) {
    row.status = runs::Status::kOomKilled;
    row.error = fmt::format(
        "killed by the OOM killer (memory limit {}, {} OOM kill{})",
        plan.memory_limit_bytes ? format_size(*plan.memory_limit_bytes) : std::string("none"),
        oom_kills, oom_kills == 1 ? "" : "s");
  } else if (l.exit.timed_out) {
    row.status = runs::Status::kTimeout;
    row.error = fmt::format("timed out after {:g} s (--cell-timeout)", plan.cell_timeout_s);
  } else if (l.error) {
    row.status = runs::Status::kFailed;
    row.error = l.error;
  } else {
    row.status = runs::Status::kOk;
  }
  if (row.status == runs::Status::kOk && plan.processes == 1 &&
      !row.metrics.count(std::string(metric::kReadyMs))) {
    row.status = runs::Status::kFailed;
    auto why = row.not_measured.find(std::string(metric::kReadyMs));
    row.error = why == row.not_measured.end() ? "faultline-bench reported no ready_ms"
                                              : "ready_ms not measured: " + why->second;
  }
  for (const char* ext : {".json", ".timeline.json", ".log"})
    if (fs::exists(ctx.store->path("raw/" + stem + ext))) row.raw.push_back("raw/" + stem + ext);
  return row;
}

}  // namespace faultline::harness
