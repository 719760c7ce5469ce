#include "harness/program_cell.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "common/credentials.h"
#include "common/interrupt.h"
#include "common/process.h"
#include "common/unique_fd.h"
#include "harness/doctor_verdicts.h"
#include "harness/proc_memory.h"
#include "harness/program_output.h"
#include "schema/metrics.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
namespace m = metric;

constexpr auto kRssEvery = std::chrono::milliseconds(20);      // tree RSS (the peak)
constexpr auto kMemoryEvery = std::chrono::milliseconds(100);  // smaps of an exiting program
constexpr const char* kNoPattern = "a program cell has no access pattern of its own";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void set(std::map<std::string, double>& metrics, std::string_view name, double v) {
  metrics[std::string(name)] = v;
}

struct Run {
  std::map<std::string, double> metrics;
  Availability a;
  std::vector<std::string> warnings;
  std::optional<ExitInfo> exit;
  bool ready = false, timed_out = false;
  std::optional<std::string> error;
};

// What a process tree holds, as metrics (family smaps, proc_io).
void memory_metrics(const TreeMemory& t, bool with_io, Run& r) {
  set(r.metrics, m::kRssBytes, double(t.rss_bytes));
  set(r.metrics, m::kRssFileBytes, double(t.file_bytes()));
  set(r.metrics, m::kRssAnonBytes, double(t.anon_bytes));
  set(r.metrics, m::kPssBytes, double(t.pss_bytes));
  set(r.metrics, m::kRssModelBytes, double(t.model_rss_bytes));
  r.a.add_probe("smaps");
  if (!with_io) return;
  if (t.io_known) {
    set(r.metrics, m::kReadBytes, double(t.read_bytes));
    r.a.add_probe("proc_io");
  } else {
    r.a.not_measured_because(std::string(m::kReadBytes),
                             "a process of the cell had no readable /proc/PID/io");
  }
}

}  // namespace

std::optional<runs::Row> run_program_cell(const RunContext& ctx, const Cell& cell,
                                          const std::string& stem, runs::Row row) {
  const Plan& plan = *ctx.plan;
  const ProgramCommand* program = plan.command_of(cell.strategy);
  auto fail = [&](const std::string& why) {
    row.status = runs::Status::kFailed;
    row.error = why;
    return row;
  };
  if (!program) return fail(fmt::format("{} names no --command of this plan", cell.strategy));
  const bool baseline = cell.pattern == kBaselinePattern;
  const std::string model = baseline ? program->baseline_model : plan.model;
  row.command = with_model(baseline ? program->baseline : program->argv, model);
  row.model = model;
  row.processes = 1;  // one program (its tree), whatever --processes says for the bench cells
  std::error_code ec;
  row.model_bytes = fs::file_size(model, ec);
  if (ec) return fail(fmt::format("model {}: {}", model, ec.message()));

  Run r;
  for (auto name : {m::kFirstPassMs, m::kTotalMs, m::kTouchedBytes, m::kGbps, m::kReadGbps,
                    m::kReadAmplification, m::kTouchP50Us, m::kTouchP99Us})
    r.a.not_measured_because(std::string(name), kNoPattern);
  r.a.not_measured_because(std::string(m::kTaskClockMs),
                           "perf counters are faultline-bench's; a program cell has none");
  // The cache state, verified before the program starts.
  try {
    const Residency res =
        cell.cache == "cold" ? make_cold(model, plan.drop_caches) : make_warm(model);
    set(r.metrics, m::kResidentPct, res.pct());
    r.a.add_probe(res.method);
  } catch (const std::exception& e) {
    return fail(fmt::format("{}: {}", cell.cache, e.what()));
  }

  std::unique_ptr<Cgroup> cgroup;
  if (ctx.use_cgroups) {
    try {
      cgroup = std::make_unique<Cgroup>(ctx.cgroups, plan.memory_limit_bytes);
    } catch (const std::exception& e) {
      if (plan.memory_limit_bytes) return fail(e.what());
      r.warnings.push_back(fmt::format("ran without its own cgroup: {}", e.what()));
    }
  }
  const std::string log = ctx.store->path("raw/" + stem + ".log");
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  int out[2], err[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
    return fail(fmt::format("pipe: {}", std::strerror(errno)));
  UniqueFd out_w(out[1]), err_w(err[1]), in_r(in[0]);
  // Its stdin stays open until it is stopped (a program may end when it closes).
  UniqueFd in_w(in[1]);
  ProgramOutput output(out[0], err[0], log_fd.get(), program->ready);

  SpawnOptions s;
  s.argv = row.command;
  if (cgroup) s.cgroup_procs = cgroup->procs_files();
  s.stdin_fd = in_r.get();
  s.stdout_fd = out_w.get();
  s.stderr_fd = err_w.get();
  s.as_user = ctx.user;
  HeldChild child;
  try {
    child = spawn_held(s);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  out_w.reset();
  err_w.reset();
  in_r.reset();
  const pid_t pid = child.pid();

  std::string why_untraced = cell.traced && !ctx.trace ? ctx.trace_off : "";
#if FAULTLINE_HARNESS_BPF
  std::unique_ptr<bpf::Tracer> tracer;
  std::optional<bpf::TraceCounters> at_release;
  if (ctx.trace && cell.traced) {
    const FsIds root_files = FsIds::root();  // tracefs and BTF are root's
    bpf::TraceFilter filter;
    if (cgroup && cgroup->id())
      filter.cgroup_path = cgroup->paths().front();  // the v2 directory (made first)
    else
      filter.pids = {pid};  // its children join it
    filter.files = {model};
    filter.track_unused = true;  // bpf_ra_unused_pages: readahead the program never used
    tracer = std::make_unique<bpf::Tracer>(filter);
    if (!tracer->ok() || !tracer->start()) {
      r.warnings.push_back("tracing off for this cell: " + tracer->error());
      why_untraced = tracer->error();
      tracer.reset();
    } else {
      at_release = tracer->snapshot();
    }
  }
#endif
  auto pids = [&] { return cgroup ? cgroup_pids(cgroup->paths()) : std::vector<pid_t>{pid}; };

  const auto t0 = Clock::now();
  try {
    child.release();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  UniqueFd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
  std::uint64_t peak = 0;
  std::optional<TreeMemory> last;
  auto next_rss = t0, next_memory = t0;
  // Until ready (its line), exit, the cell timeout or an interrupt.
  for (;;) {
    const bool exit_readable = output.pump(5, pidfd.get());
    if (program->ready && output.ready()) {
      r.ready = true;
      set(r.metrics, m::kReadyMs, ms_since(t0));
      break;
    }
    if (exit_readable || pidfd.get() < 0) {
      if (auto e = try_wait_child(pid)) {
        const double ready_ms = ms_since(t0);
        r.exit = e;
        output.drain();
        if (program->ready && output.ready()) {
          r.ready = true;  // the line came with its exit
          set(r.metrics, m::kReadyMs, ready_ms);
        } else if (!program->ready) {
          set(r.metrics, m::kReadyMs, ready_ms);
        }
        break;
      }
    }
    if (interrupted()) {
      ::kill(-pid, SIGKILL);
      wait_child(pid, 0.0);
      return std::nullopt;
    }
    if (ms_since(t0) > plan.cell_timeout_s * 1e3) {
      r.timed_out = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= next_rss) {
      peak = std::max(peak, tree_rss(pids()));
      next_rss = now + kRssEvery;
    }
    // A program whose readiness is its exit is read while it runs: the
    // last sample is what it held (its /proc is gone once it has exited).
    if (!program->ready && now >= next_memory) {
      auto t = read_tree_memory(pids(), model);
      if (t.processes > 0) last = t;
      next_memory = Clock::now() + kMemoryEvery;
    }
  }

  // Ready by its line: what the tree holds now, then stop it.
  std::optional<std::uint64_t> faults_minor, faults_major;
  const bool at_ready = r.ready && !r.exit;
  if (at_ready) {
    const auto now_pids = pids();
    const TreeMemory t = read_tree_memory(now_pids, model);
    peak = std::max(peak, t.rss_bytes);
    if (t.processes > 0) memory_metrics(t, true, r);
    if (cgroup) {
      faults_minor = cgroup->memory_stat("pgfault");
      faults_major = cgroup->memory_stat("pgmajfault");
    }
  }
#if FAULTLINE_HARNESS_BPF
  std::optional<bpf::TraceCounters> at_end;
  if (tracer && at_release) at_end = tracer->snapshot();
#endif
  if (!r.exit) {
    // SIGTERM to its process group, SIGKILL after the grace (a hung one at once).
    ::kill(-pid, r.timed_out ? SIGKILL : SIGTERM);
    WaitOptions w;
    w.timeout_s = r.timed_out ? 0 : kProgramStopGraceS;
    w.serve = [&] { output.pump(10); };
    r.exit = wait_child(pid, w);
    if (r.exit->interrupted || interrupted()) return std::nullopt;
  }
  in_w.reset();
  output.drain();
  if (!at_ready && !r.timed_out) {  // ready = exit (or never ready)
    if (last) {
      memory_metrics(*last, false, r);
      r.warnings.push_back(
          "memory of a program that exits on its own: the last sample while it ran (every 100 ms)");
    }
    set(r.metrics, m::kReadBytes, double(r.exit->in_blocks) * 512);
    r.a.add_probe("rusage");
    if (cgroup) {
      faults_minor = cgroup->memory_stat("pgfault");
      faults_major = cgroup->memory_stat("pgmajfault");
    }
  }
  if (faults_minor && faults_major) {
    set(r.metrics, m::kMajorFaults, double(*faults_major));
    set(r.metrics, m::kMinorFaults, double(*faults_minor - std::min(*faults_minor, *faults_major)));
    r.a.add_probe("cgroup:memory.stat");
  } else if (!at_ready && r.exit) {
    set(r.metrics, m::kMajorFaults, double(r.exit->major_faults));
    set(r.metrics, m::kMinorFaults, double(r.exit->minor_faults));
    r.a.add_probe("rusage");
  }
  if (peak > 0) set(r.metrics, m::kPeakRssBytes, double(peak));

#if FAULTLINE_HARNESS_BPF
  if (tracer) {
    tracer->stop();
    r.a.merge(tracer->availability());
    if (at_end)
      for (const auto& [name, value] : bpf::to_metrics(*at_end - *at_release))
        r.metrics[name] = value;
  }
#endif
  std::uint64_t oom_kills = 0;
  if (cgroup) {
    oom_kills = cgroup->oom_kills();
    if (auto v = cgroup->peak_bytes()) set(r.metrics, m::kCgroupPeakBytes, double(*v));
    set(r.metrics, m::kCgroupOomKills, double(oom_kills));
    if (auto v = cgroup->memory_stat("workingset_refault_file"))
      set(r.metrics, m::kCgroupRefaults, double(*v));
    if (auto v = cgroup->memory_stat("pgmajfault"))
      set(r.metrics, m::kCgroupMajorFaults, double(*v));
    cgroup->remove();  // kills what is left of the tree
  } else {
    ::kill(-pid, SIGKILL);  // its process group, whatever is left
  }
  trace_availability(cell.traced, why_untraced, r.metrics, r.a);

  // Why each metric that is missing is missing.
  const std::string why_memory =
      r.timed_out ? "the program never became ready"
      : at_ready  ? "no process of the cell was left to read when it was ready"
                  : "the program exited before its memory was first sampled (every 100 ms)";
  for (auto name : {m::kRssBytes, m::kRssFileBytes, m::kRssAnonBytes, m::kPssBytes,
                    m::kRssModelBytes, m::kPeakRssBytes, m::kReadBytes})
    r.a.not_measured_because(std::string(name), why_memory);
  const std::string why_faults =
      r.timed_out ? "the program never became ready"
                  : "no memory cgroup to count the tree's faults at ready (memory.stat), and its "
                    "rusage would include its stop";
  r.a.not_measured_because(std::string(m::kMajorFaults), why_faults);
  r.a.not_measured_because(std::string(m::kMinorFaults), why_faults);
  if (!cgroup)
    for (auto name :
         {m::kCgroupPeakBytes, m::kCgroupOomKills, m::kCgroupRefaults, m::kCgroupMajorFaults})
      r.a.not_measured_because(std::string(name), "the cell ran without its own memory cgroup");
  r.a.not_measured_because(std::string(m::kReadyMs),
                           r.timed_out ? "the program never became ready" : "never ready");

  row.exit_code = r.exit->exit_code;
  row.term_signal = r.exit->term_signal;
  row.wall_s = ms_since(t0) / 1e3;
  for (const auto& [name, why] : r.a.not_measured)
    if (!r.metrics.count(name)) row.not_measured.emplace(name, why);
  row.probes = r.a.probes;
  row.metrics = std::move(r.metrics);
  row.warnings.insert(row.warnings.end(), r.warnings.begin(), r.warnings.end());
  apply_doctor_verdicts(ctx.doctor_failed, row);

  const std::string prog = row.command.front();
  const std::string tail = output.stderr_tail();
  const std::string said = tail.empty() ? "" : ": " + tail;
  const bool stopped_by_us = at_ready;  // whatever it exits with after our SIGTERM
  if (oom_kills > 0) {
    row.status = runs::Status::kOomKilled;
    row.error = fmt::format("killed by the OOM killer ({} OOM kill{})", oom_kills,
                            oom_kills == 1 ? "" : "s");
  } else if (r.timed_out) {
    row.status = runs::Status::kTimeout;
    row.error = fmt::format(
        "timed out after {:g} s (--cell-timeout) before {}", plan.cell_timeout_s,
        program->ready ? "printing a line matching " + *program->ready : std::string("exiting"));
  } else if (program->ready && !r.ready) {
    row.status = runs::Status::kFailed;
    row.error = fmt::format("{} exited (status {}) without printing a line matching {}{}", prog,
                            r.exit->status_code(), *program->ready, said);
  } else if (!stopped_by_us && r.exit->exit_code != 0) {
    row.status = runs::Status::kFailed;
    row.error = r.exit->term_signal
                    ? fmt::format("{} killed by signal {} ({}){}", prog, *r.exit->term_signal,
                                  strsignal(*r.exit->term_signal), said)
                    : fmt::format("{} exited with {}{}", prog, r.exit->status_code(), said);
  } else {
    row.status = runs::Status::kOk;
  }
  if (fs::exists(log)) row.raw.push_back("raw/" + stem + ".log");
  return row;
}

}  // namespace faultline::harness
