#include "harness/trace_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bpf/trace_summary.h"
#include "bpf/tracer.h"
#include "common/cgroup.h"
#include "common/cli.h"
#include "common/credentials.h"
#include "common/duration.h"
#include "common/interrupt.h"
#include "common/process.h"
#include "common/rss_sampler.h"
#include "harness/damon.h"
#include "harness/syscall_report.h"
#include "harness/trace_recording.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

using bpf::print_summary;
using bpf::report_json;
using bpf::TraceFilter;
using bpf::Tracer;
using bpf::TraceReport;

std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

void error(const std::string& message) {
  fmt::print(stderr, "faultline trace: {}\n", message);
}

bool process_exists(int pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// The traced command: held before exec until the tracer is attached, in the
// trace's cgroup, as the user under sudo; it stays in our process group (a
// terminal's Ctrl-C reaches it as before) and outlives a trace that ends by
// --duration, but an interrupt of faultline kills it (tracked).
HeldChild start_command(const std::vector<std::string>& argv, const Cgroup* cgroup,
                        const Credentials* user) {
  SpawnOptions so;
  so.argv = argv;
  if (cgroup) so.cgroup_procs = cgroup->procs_files();
  so.stdin_fd = SpawnOptions::kInherit;
  so.as_user = user;
  so.keep_ipc_lock = false;
  so.die_with_parent = false;
  so.own_process_group = false;
  return spawn_held(so);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  try {
    return faultline::parse_duration(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

int run_trace(const TraceOptions& o) {
  std::optional<std::chrono::milliseconds> duration;
  if (!o.duration.empty() && !(duration = parse_duration(o.duration))) {
    error(fmt::format("bad --duration '{}' (examples: 10s, 500ms, 2m)", o.duration));
    return 1;
  }
  if (!o.record_path.empty() && o.files.size() != 1) {
    error(fmt::format("--record {} needs exactly one --file MODEL (the file it records), not {}",
                      o.record_path, o.files.size()));
    return 1;
  }
  const bool timeline = o.timeline || !o.record_path.empty();  // --record implies it
  for (int pid : o.pids)
    if (!process_exists(pid)) {
      error(fmt::format("no process with pid {}", pid));
      return 1;
    }
  std::vector<std::string> argv = o.command;
  if (!argv.empty() && (argv[0] = find_program(o.command[0])).empty()) {
    error(fmt::format("cannot run '{}': command not found or not executable", o.command[0]));
    return 127;
  }
  // Under sudo the command is the user's (only the tracer needs root).
  std::optional<Credentials> user;
  try {
    if (!o.as_root) user = invoking_user();
  } catch (const std::exception& e) {
    error(e.what());
    return 1;
  }
  if (auto why = bpf::tracing_unavailable_reason()) {
    error("tracing unavailable: " + *why);
    return 1;
  }

  // Ctrl-C / SIGTERM / SIGHUP end the trace (with a summary) from here on,
  // before anything is attached, so no signal can kill us half attached
  // (common/interrupt.h: they also kill the command).
  install_interrupt_handlers();
  ::signal(SIGPIPE, SIG_IGN);  // a command that died early must not kill us

  TraceFilter filter;
  filter.files = o.files;
  filter.pids = o.pids;
  filter.timeline = timeline;
  filter.syscall_log = !o.files.empty();
  filter.timeline_bytes = o.timeline_mib << 20;
  filter.track_unused = !o.files.empty();
  TraceReport report;
  report.command = o.command;
  report.files = o.files;

  // The command: forked now, held before exec until the tracer is attached,
  // in a fresh cgroup v2 (so its children count too) or, without cgroup2, by
  // its pid (children not followed).
  std::unique_ptr<Cgroup> cgroup;
  HeldChild child;
  if (!o.command.empty()) {
    try {
      const CgroupHost host = detect_cgroups();
      remove_stale_cgroups(host);
      cgroup = std::make_unique<Cgroup>(
          host, CgroupOptions{kTraceCgroupPrefix, /*memory=*/false, std::nullopt,
                              /*kill_leftovers=*/false});
    } catch (const std::exception& e) {
      error(fmt::format("{}; following the command's pid only", e.what()));
    }
    try {
      child = start_command(argv, cgroup.get(), user ? &*user : nullptr);
    } catch (const SpawnError& e) {
      error(fmt::format("cannot run '{}': {}", o.command[0], std::strerror(e.error)));
      return 127;
    } catch (const std::system_error& e) {
      error(fmt::format("cannot start '{}': {}", o.command[0], e.code().message()));
      return 1;
    }
    if (cgroup)
      filter.cgroup_path = cgroup->v2_path();
    else
      filter.pids.push_back(child.pid());
    report.pids.push_back(child.pid());
    report.filter = cgroup ? "cgroup " + cgroup->v2_path() : fmt::format("pid {}", child.pid());
    if (user) report.filter += " as " + user->describe();
  } else {
    report.pids = o.pids;
    report.filter = o.pids.empty() ? "system-wide" : fmt::format("pids {}", fmt::join(o.pids, " "));
  }

  Tracer tracer(filter);
  if (!tracer.ok() || !tracer.start()) {
    error(tracer.error());
    child.abandon();
    return 1;
  }
  if (interrupted()) {  // interrupted while attaching: the command never runs
    child.abandon();
    return 128 + pending_interrupt();
  }
  report.probes = tracer.probes();
  report.availability = tracer.availability();
  for (const auto& p : tracer.probes())
    if (p.rfind("skipped", 0) == 0)
      error("note: " + p);
    else if (p.rfind("warning", 0) == 0)
      error(p);
  error(fmt::format("tracing {} ({} probes attached)", report.filter,
                    report.availability.probes.size()));

  const std::string recorded_at = utc_now_iso8601();
  report.t0_ns = monotonic_ns();
  const auto t0 = std::chrono::steady_clock::now();
  if (!o.command.empty()) {
    try {
      child.release();
    } catch (const SpawnError& e) {
      error(fmt::format("cannot run '{}': {}", o.command[0], std::strerror(e.error)));
      return 127;
    }
  }
  if (o.pids.empty() && o.command.empty() && !duration)
    error("tracing every process until Ctrl-C (give -p PID, --duration or a command)");

  std::optional<ProcessFaults> faults_before;
  if (o.command.empty() && o.pids.size() == 1) faults_before = read_proc_faults(o.pids[0]);
  RssSampler rss(report.pids, std::chrono::milliseconds(std::max(10, o.rss_interval_ms)));

  while (true) {
    if (timeline || filter.syscall_log) tracer.poll_timeline(0);
    if (interrupted()) {
      report.interrupted = true;
      break;
    }
    if (duration && std::chrono::steady_clock::now() - t0 >= *duration) {
      report.interrupted = true;
      break;
    }
    if (child.pid() > 0) {
      if (const auto exit = try_wait_child(child.pid())) {
        report.exit_status = exit->status_code();
        report.process_faults = ProcessFaults{exit->minor_faults, exit->major_faults};
        break;
      }
    } else if (!o.pids.empty() && std::none_of(o.pids.begin(), o.pids.end(), process_exists)) {
      break;  // every traced process is gone
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(timeline || filter.syscall_log ? 10 : 50));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.counters = tracer.snapshot();
  tracer.stop();
  rss.stop();
  if (timeline) {
    while (tracer.poll_timeline(0) > 0) {
    }
    report.timeline = tracer.take_timeline();
    report.timeline_enabled = true;
  }
  std::optional<SyscallReport> syscalls;
  if (!o.files.empty())
    syscalls = make_syscall_report(tracer.take_syscalls(), tracer.syscalls_dropped(),
                                   tracer.syscalls_unavailable(), report.counters);
  if (faults_before)
    if (auto after = read_proc_faults(o.pids[0]))
      report.process_faults =
          ProcessFaults{after->minor - faults_before->minor, after->major - faults_before->major};
  report.rss = rss.samples();
  report.peak_rss_bytes = rss.peak_bytes();

  if (!o.quiet) {
    print_summary(stderr, report);
    if (syscalls) print_syscall_report(stderr, *syscalls);
  }
  // Evictions while the program ran: say who else evicts (damon.h).
  if (!o.files.empty() && report.counters.pagecache_evict_pages > 0)
    for (const auto& scheme : damon_pageout().schemes)
      error(fmt::format(
          "note: {} pages of the file were evicted while it ran, and proactive reclaim is on, "
          "{}: it may have evicted them (with --timeline --json, each pagecache_evict event names "
          "the evicting task: kdamond.N)",
          report.counters.pagecache_evict_pages, scheme));
  if (!o.record_path.empty()) {
    namespace m = faultline::metric;
    const auto& nm = report.availability.not_measured;
    RecordingInputs in;
    in.file = o.files.front();
    in.command = o.command;
    in.recorded_at = recorded_at;
    in.calls = &syscalls->calls;
    in.timeline = &report.timeline;
    in.syscalls_measured = !syscalls->not_measured;
    in.faults_measured = !nm.contains(std::string(m::kBpfFilemapFaults));
    in.readahead_measured = !nm.contains(std::string(m::kBpfRaSync));
    in.syscalls_dropped = syscalls->dropped;
    in.timeline_dropped = report.counters.dropped;
    in.timeline_stride = tracer.timeline_stride();
    try {
      const recording::Recording rec = make_recording(in);
      std::optional<FsIds> as_user;  // the user's file, with their file rights (under sudo)
      if (user) as_user.emplace(user->uid, user->gid);
      recording::write_recording(o.record_path, rec);
      error(
          fmt::format("recorded {} events of {} to {}", rec.events.size(), in.file, o.record_path));
    } catch (const recording::RecordingError& e) {
      error(fmt::format("cannot write the recording: {}", e.what()));
      return 1;
    }
  }
  if (!o.json_path.empty()) {
    // The user's file, written with their file rights (under sudo).
    std::optional<FsIds> as_user;
    if (user) as_user.emplace(user->uid, user->gid);
    nlohmann::json j = report_json(report);
    if (syscalls) j["syscalls"] = syscall_json(*syscalls);
    std::ofstream json(o.json_path);
    json << j.dump(1) << "\n";
    if (!json) {
      error(fmt::format("cannot write {}: {}", o.json_path, std::strerror(errno)));
      return 1;
    }
  } else if (o.timeline && o.record_path.empty()) {
    error("note: the timeline is only written with --json FILE");
  }
  if (!o.command.empty() && !report.exit_status) {
    if (interrupted()) {
      kill_child(child.pid());  // the interrupt killed it: reaped, not waited for
      if (cgroup) cgroup->set_kill_leftovers(true);  // and what it started goes with it
      error(fmt::format("'{}' (pid {}) was stopped", o.command[0], child.pid()));
    } else {
      untrack_child(child.pid());  // it goes on, untraced
      error(fmt::format("'{}' (pid {}) is still running; it is no longer traced", o.command[0],
                        child.pid()));
    }
  }
  return report.exit_status.value_or(0);
}

void add_trace_command(CLI::App& app) {
  auto opts = std::make_shared<TraceOptions>();
  CLI::App* cmd = app.add_subcommand(
      "trace",
      "trace page faults, readahead, page cache and block I/O of a command, of running "
      "processes (-p) or of the whole system, with eBPF (needs root or CAP_BPF+CAP_PERFMON). "
      "The summary goes to stderr when the command ends, on Ctrl-C/SIGTERM or after "
      "--duration.");
  cmd->add_option("--file", opts->files,
                  "only count page-cache, filemap-fault and readahead events of this file "
                  "(repeatable); enables evictions and 'readahead never used'")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false);  // one path per --file: "--" then starts CMD
  cmd->add_option("-p,--pid", opts->pids, "trace this running process (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--duration", opts->duration,
                  "stop after this long (a duration: 10s, 500ms, 2m; bare number = seconds)")
      ->check(cli::duration());
  cmd->add_option("--json", opts->json_path,
                  "write everything (summary, RSS, timeline) to FILE as JSON")
      ->type_name("FILE");
  cmd->add_option("--record", opts->record_path,
                  "write the program's access sequence on the --file model (reads, faults, "
                  "populate ranges, readahead windows, its calls) to FILE (recording/README.md); "
                  "implies --timeline; needs exactly one --file")
      ->type_name("FILE");
  cmd->add_flag("-q,--quiet", opts->quiet, "no summary on stderr (with --json)");
  cmd->add_flag("--timeline", opts->timeline,
                "record every event (time, file offset, kind) for plots; see --json");
  cmd->add_option("--timeline-mib", opts->timeline_mib, "ring buffer size for --timeline, MiB")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--rss-interval-ms", opts->rss_interval_ms,
                  "RSS sampling period, ms (10 at the least)")
      ->check(CLI::Range(1, 3600 * 1000))
      ->capture_default_str();
  cmd->add_flag("--as-root", opts->as_root,
                "under sudo, run the command as root (default: as the user who ran sudo; the "
                "tracer is root either way)");
  cmd->add_option("command", opts->command, "-- CMD ARGS...: run and trace this command");

  cmd->footer(
      "Examples:\n"
      "  sudo faultline trace --file model.gguf -- ./llama-cli -m model.gguf -p hi -n 1\n"
      "  sudo faultline trace --file model.gguf --record llama.replay -- ./llama-cli -m "
      "model.gguf -p hi -n 1\n"
      "  faultline trace -p 4242 --duration 10s --json trace.json");
  cmd->callback([opts] { throw CLI::RuntimeError(run_trace(*opts)); });
}

}  // namespace faultline::harness
