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
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bpf/trace_summary.h"
#include "bpf/tracer.h"
#include "common/cgroup_v2.h"
#include "common/cli.h"
#include "common/credentials.h"
#include "common/duration.h"
#include "common/process.h"
#include "common/rss_sampler.h"

namespace faultline::harness {
namespace {

using bpf::print_summary;
using bpf::report_json;
using bpf::TraceFilter;
using bpf::Tracer;
using bpf::TraceReport;

volatile sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

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

// A forked child that joins the cgroup (as root), waits to be released,
// becomes `user` when given (async-signal-safe: setgroups, setgid, setuid)
// and execs the command; errors come back through a close-on-exec pipe.
struct CommandChild {
  pid_t pid = -1;
  int go_w = -1, err_r = -1;

  bool spawn(const std::vector<std::string>& argv, const ScopedCgroup* cgroup,
             const Credentials* user) {
    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return false;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const char* procs = cgroup ? cgroup->procs_path().c_str() : nullptr;
    pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      close(go[1]);
      close(err[0]);
      if (procs) {  // join the identity cgroup: "0" = the writer itself
        const int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
          const int e = errno;
          (void)!write(err[1], &e, sizeof e);
          _exit(126);
        }
        close(fd);
      }
      char c;
      ssize_t n;
      while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR) {
      }
      if (n != 1) _exit(125);  // the tracer gave up
      if (user && !become(*user)) {
        const int e = errno;
        (void)!write(err[1], &e, sizeof e);
        _exit(126);
      }
      execv(args[0], args.data());
      const int e = errno;
      (void)!write(err[1], &e, sizeof e);
      _exit(127);
    }
    close(go[0]);
    close(err[1]);
    go_w = go[1];
    err_r = err[0];
    return true;
  }

  // Lets the child exec; returns the exec errno (0 = the command runs).
  int release() {
    (void)!write(go_w, "g", 1);
    close(go_w);
    go_w = -1;
    int e = 0;
    const ssize_t n = read(err_r, &e, sizeof e);
    close(err_r);
    err_r = -1;
    return n == sizeof e ? e : 0;
  }

  void abandon() {  // before release: the child exits without running anything
    if (go_w >= 0) close(go_w);
    if (err_r >= 0) close(err_r);
    go_w = err_r = -1;
    if (pid > 0) waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// SIGINT/SIGTERM set g_stop_signal while alive; the old handlers come back
// on destruction.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa = {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    g_stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    sa.sa_handler = SIG_IGN;  // a command that died early must not kill us
    sigaction(SIGPIPE, &sa, &old_pipe_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  struct sigaction old_int_ = {}, old_term_ = {}, old_pipe_ = {};
};

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
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

  // Ctrl-C / SIGTERM end the trace (with a summary) from here on, before
  // anything is attached, so no signal can kill us half attached.
  StopSignals stop_signals;

  TraceFilter filter;
  filter.files = o.files;
  filter.pids = o.pids;
  filter.timeline = o.timeline;
  filter.timeline_bytes = o.timeline_mib << 20;
  filter.track_unused = !o.files.empty();
  TraceReport report;
  report.command = o.command;
  report.files = o.files;

  // The command: forked now, held before exec until the tracer is attached,
  // in a fresh cgroup v2 (so its children count too) or, without cgroup2, by
  // its pid (children not followed).
  std::unique_ptr<ScopedCgroup> cgroup;
  CommandChild child;
  if (!o.command.empty()) {
    try {
      cgroup = std::make_unique<ScopedCgroup>();
    } catch (const std::exception& e) {
      error(fmt::format("{}; following the command's pid only", e.what()));
    }
    if (!child.spawn(argv, cgroup.get(), user ? &*user : nullptr)) {
      error(fmt::format("cannot start '{}': {}", o.command[0], std::strerror(errno)));
      return 1;
    }
    if (cgroup)
      filter.cgroup_path = cgroup->path();
    else
      filter.pids.push_back(child.pid);
    report.pids.push_back(child.pid);
    report.filter = cgroup ? "cgroup " + cgroup->path() : fmt::format("pid {}", child.pid);
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
  if (g_stop_signal) {  // interrupted while attaching: the command never runs
    child.abandon();
    return 128 + g_stop_signal;
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

  report.t0_ns = monotonic_ns();
  const auto t0 = std::chrono::steady_clock::now();
  if (!o.command.empty()) {
    if (int e = child.release()) {
      int status;
      waitpid(child.pid, &status, 0);
      error(fmt::format("cannot run '{}': {}", o.command[0], std::strerror(e)));
      return 127;
    }
  }
  if (o.pids.empty() && o.command.empty() && !duration)
    error("tracing every process until Ctrl-C (give -p PID, --duration or a command)");

  std::optional<ProcessFaults> faults_before;
  if (o.command.empty() && o.pids.size() == 1) faults_before = read_proc_faults(o.pids[0]);
  RssSampler rss(report.pids, std::chrono::milliseconds(std::max(10, o.rss_interval_ms)));

  while (true) {
    if (o.timeline) tracer.poll_timeline(0);
    if (g_stop_signal) {
      report.interrupted = true;
      break;
    }
    if (duration && std::chrono::steady_clock::now() - t0 >= *duration) {
      report.interrupted = true;
      break;
    }
    if (child.pid > 0) {
      int status;
      rusage ru{};
      if (wait4(child.pid, &status, WNOHANG, &ru) == child.pid) {
        report.exit_status = exit_code_of(status);
        report.process_faults =
            ProcessFaults{std::uint64_t(ru.ru_minflt), std::uint64_t(ru.ru_majflt)};
        break;
      }
    } else if (!o.pids.empty() && std::none_of(o.pids.begin(), o.pids.end(), process_exists)) {
      break;  // every traced process is gone
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.timeline ? 10 : 50));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.counters = tracer.snapshot();
  tracer.stop();
  rss.stop();
  if (o.timeline) {
    while (tracer.poll_timeline(0) > 0) {
    }
    report.timeline = tracer.take_timeline();
    report.timeline_enabled = true;
  }
  if (faults_before)
    if (auto after = read_proc_faults(o.pids[0]))
      report.process_faults =
          ProcessFaults{after->minor - faults_before->minor, after->major - faults_before->major};
  report.rss = rss.samples();
  report.peak_rss_bytes = rss.peak_bytes();

  if (!o.quiet) print_summary(stderr, report);
  if (!o.json_path.empty()) {
    // The user's file, written with their file rights (under sudo).
    std::optional<FsIds> as_user;
    if (user) as_user.emplace(user->uid, user->gid);
    std::ofstream json(o.json_path);
    json << report_json(report).dump(1) << "\n";
    if (!json) {
      error(fmt::format("cannot write {}: {}", o.json_path, std::strerror(errno)));
      return 1;
    }
  } else if (o.timeline) {
    error("note: the timeline is only written with --json FILE");
  }
  if (!o.command.empty() && !report.exit_status)
    error(fmt::format("'{}' (pid {}) is still running; it is no longer traced", o.command[0],
                      child.pid));
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
      "  faultline trace -p 4242 --duration 10s --json trace.json");
  cmd->callback([opts] { throw CLI::RuntimeError(run_trace(*opts)); });
}

}  // namespace faultline::harness
