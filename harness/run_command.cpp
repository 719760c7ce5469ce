#include "harness/run_command.h"

#include "harness/report_command.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "benchmarks/default_model.h"
#include "benchmarks/strategy.h"
#include "common/cgroup.h"
#include "common/cli.h"
#include "common/credentials.h"
#include "common/host_lock.h"
#include "common/interrupt.h"
#include "common/process.h"
#include "common/size.h"
#include "harness/baseline_model.h"
#include "harness/calibration.h"
#include "harness/cell_progress.h"
#include "harness/cell_runner.h"
#include "harness/damon.h"
#include "harness/doctor.h"
#include "harness/doctor_verdicts.h"
#include "harness/host_env.h"
#include "harness/results_store.h"
#include "harness/run_checks.h"
#include "harness/run_outcome.h"

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

// One measuring run per host (common/host_lock.h): waits for another
// run, naming it, or with --no-wait refuses. nullptr when interrupted while
// waiting (nothing was started); throws std::runtime_error for --no-wait.
std::unique_ptr<HostLock> take_host_lock(const RunOptions& o, const std::string& what,
                                         bool as_root_files) {
  HostLock::Options lock;
  lock.what = what;
  lock.wait = !o.no_wait;
  lock.on_wait = [&](const std::string& holder) {
    fmt::print(stderr,
               "faultline run: waiting for the host lock {} held by {} (one measuring run per "
               "host: the page cache and cold caches are the whole machine's); Ctrl-C to give "
               "up, --no-wait to refuse instead\n",
               HostLock::path(), holder);
  };
  lock.give_up = [] { return interrupted(); };
  try {
    // The lock file is shared by every user: created with root's file rights.
    std::optional<FsIds> root_files;
    if (as_root_files) root_files.emplace(0, 0);
    return std::make_unique<HostLock>(lock);
  } catch (const std::runtime_error&) {
    if (interrupted()) return nullptr;
    throw;
  }
}

void print_calibration(const nlohmann::json& cal) {
  auto show = [](const nlohmann::json& j) {
    return j.contains("gbps") ? fmt::format("{:.2f} GB/s", j["gbps"].get<double>())
                              : "failed: " + j.value("error", std::string("?"));
  };
  fmt::print(stderr, "  storage read limit: {} ({})\n  page-cache copy: {}\n", show(cal["storage"]),
             cal["storage"].value("method", ""), show(cal["pagecache"]));
  if (cal.contains("host_cache"))
    fmt::print(stderr, "  cache below this system: {} ({})\n",
               cal["host_cache"].value("verdict", "?"), cal["host_cache"].value("detail", ""));
}

}  // namespace

int run(const RunOptions& o) {
  const CgroupHost cgroups = detect_cgroups();
  Plan plan;
  std::string bench = sibling_executable("faultline-bench", "FAULTLINE_BENCH");
  std::string hold = sibling_executable("faultline-hold", "FAULTLINE_HOLD");
  std::optional<Credentials> user;
  // Under sudo, every file operation from here on has the invoking user's
  // rights (their groups, their fsuid): the model is read, the default model
  // written and the results stored as they could; only the cgroup tree and
  // the tracer's files are opened as root (FsIds::root() where that happens).
  std::optional<FsIds> user_files;
  try {
    user = benchmark_user(o);
    if (user) {
      if (!o.request.model.empty()) check_model_access(*user, o.request.model);
      if (::setgroups(user->groups.size(), user->groups.data()) != 0)
        throw std::runtime_error(fmt::format("setgroups: {}", std::strerror(errno)));
      user_files.emplace(user->uid, user->gid);
    }
    plan = prepare_plan(o, cgroups, user);
    check_executable(bench, "faultline-bench", "FAULTLINE_BENCH");
    if (plan.processes > 1) check_executable(hold, "faultline-hold", "FAULTLINE_HOLD");
    if (user) check_user_access(*user, plan, bench, plan.processes > 1 ? hold : bench);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "faultline run: error: {}\n", e.what());
    return kBadArguments;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline run: error: {}\n", e.what());
    return kBadArguments;
  }

  // The host lock, before anything that changes the page cache (the default
  // model's generation included) and before the run folder exists: a run
  // interrupted while waiting leaves nothing behind.
  install_interrupt_handlers();
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe to a cell is an error return, not a death
  std::unique_ptr<HostLock> lock;
  try {
    lock = take_host_lock(o,
                          o.resume.empty()
                              ? fmt::format("faultline run (preparing, model {})",
                                            plan.model.empty() ? "to generate" : plan.model)
                              : "faultline run → " + o.resume,
                          bool(user_files));
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline run: {}\n", e.what());
    return 1;
  }
  if (!lock) {
    fmt::print(stderr,
               "faultline run: interrupted ({}) while waiting for the host lock; nothing ran\n",
               strsignal(pending_interrupt()));
    return 128 + pending_interrupt();
  }

  try {
    RunContext ctx;
    ctx.cgroups = cgroups;
    ctx.use_cgroups = ::geteuid() == 0 && (cgroups.can_identify() || cgroups.can_limit_memory());
    // Tracing, decided before plan.json: a run that cannot trace plans no
    // traced repetitions.
    if (plan.trace && !o.no_trace) {
      auto reason = tracing_off_reason();
      if (!reason && plan.processes > 1 && !(ctx.use_cgroups && cgroups.can_identify()))
        reason = "no cgroup v2 hierarchy to follow the fleet's processes by";
      if (reason) {
        fmt::print(stderr, "faultline run: warning: tracing off: {}{}\n", *reason,
                   o.resume.empty() && plan.traced_reps
                       ? "; the evidence repetitions run without it (no bpf_* evidence)"
                       : "");
        ctx.trace_off = *reason;
      } else
        ctx.trace = true;
    }
    if (!plan.trace || o.no_trace) ctx.trace_off = "--no-trace";

    std::unique_ptr<ResultsStore> store;
    if (!o.resume.empty()) {
      store = std::make_unique<ResultsStore>(ResultsStore::open(o.resume));
      // A run killed between plan.json and env.json.
      if (!fs::exists(store->path("env.json")))
        store->write_json("env.json", with_run_as(capture_env(plan.model), user));
    } else {
      if (plan.model.empty()) {
        const std::string models = model_cache_dir(user);
        if (!o.quiet)
          fmt::print(stderr, "faultline run: default model: {} GGUF in {}/models\n",
                     format_size(plan.default_model_bytes), models);
        bind_model(plan, ensure_default_model(plan.default_model_bytes, o.quiet, models));
        if (user) check_user_access(*user, plan, bench, bench);
      }
      // --command-baseline's tiny models, of the same kind as the model.
      for (auto& c : plan.commands)
        if (!c.baseline.empty()) {
          try {
            c.baseline_model = ensure_baseline_model(plan.model, model_cache_dir(user));
          } catch (const std::invalid_argument& e) {
            fmt::print(stderr, "faultline run: error: {}\n", e.what());
            return kBadArguments;
          }
        }
      // A SIGTERM from here on stops the run between files, never inside one
      // (common/interrupt.h, installed above).
      if (interrupted()) return 128 + pending_interrupt();
      store = std::make_unique<ResultsStore>(
          ResultsStore::create(o.results, short_hostname(), plan.preset));
      store->write_json("plan.json", to_json(plan));
      auto env = with_run_as(capture_env(plan.model), user);
      store->write_json("env.json", env);
      for (const auto& d : damon_pageout().schemes)
        fmt::print(stderr,
                   "faultline run: warning: proactive reclaim is on, {}: it may evict pages of "
                   "the model during a cell (a cold load then reads them twice, a warm one is "
                   "not warm); traced repetitions count them in bpf_pagecache_evict_pages\n",
                   d);
      // Which probes hold here, each against a known answer, before any
      // cell: a family that fails makes its metrics "not measured".
      env["doctor"] = doctor_for_run(plan.model, o.quiet);
      store->write_json("env.json", env);
    }
    lock->describe("faultline run → " + store->dir());
    for (const auto& s : plan.skipped)
      if (!o.quiet) fmt::print(stderr, "faultline run: skipped {}\n", s);
    for (const auto& d : dropped_summary(plan))
      if (!o.quiet) fmt::print(stderr, "faultline run: {}\n", d);

    ctx.plan = &plan;
    ctx.store = store.get();
    ctx.bench = bench;
    ctx.hold = hold;
    ctx.user = user ? &*user : nullptr;
    if (const auto env = store->read_json("env.json"); env.contains("doctor")) {
      ctx.doctor_failed = failed_families(env["doctor"]);
      for (const auto& [family, reason] : ctx.doctor_failed)
        fmt::print(stderr, "faultline run: note: {}; its metrics are recorded as not measured\n",
                   doctor_reason(family, reason));
    }
    if (user && !o.quiet)
      fmt::print(stderr, "faultline run: benchmarks run as {} (--as-root to run them as root)\n",
                 user->describe());
    if (ctx.use_cgroups) remove_stale_cgroups(cgroups);
    if (!ctx.use_cgroups && !o.quiet)
      fmt::print(stderr, "faultline run: note: not root: cells run without their own cgroup\n");

    if (!o.no_calibration && !fs::exists(store->path("calibration.json"))) {
      if (!o.quiet) fmt::print(stderr, "faultline run: calibrating on {}…\n", plan.model);
      CalibrationInputs in{plan.model, plan.model_bytes, bench, plan.drop_caches, ctx.user};
      // In a cgroup of its own, like the cells (no memory limit: it measures the disk).
      std::unique_ptr<Cgroup> cal_cgroup;
      if (ctx.use_cgroups) {
        try {
          cal_cgroup = std::make_unique<Cgroup>(cgroups, std::nullopt);
          in.cgroup_procs = cal_cgroup->procs_files();
        } catch (const std::exception& e) {
          fmt::print(stderr, "faultline run: note: calibration runs without a cgroup: {}\n",
                     e.what());
        }
      }
      auto cal = calibrate(in);
      cal_cgroup.reset();
      if (!interrupted()) store->write_json("calibration.json", cal);
      if (!o.quiet && !interrupted()) print_calibration(cal);
    }

    auto cells = plan.cells();
    auto done = store->done_keys();
    int already = 0;
    for (const auto& c : cells) already += done.count(c.key()) ? 1 : 0;
    if (!o.quiet)
      fmt::print(
          stderr,
          "faultline run: {} cells ({} strategies × {} patterns{} × {} × {} reps{}{}){} → {}\n",
          cells.size(), plan.strategies.size(), plan.patterns.size(),
          plan.commands.empty() ? "" : fmt::format(" + {} programs", plan.commands.size()),
          fmt::join(plan.caches, "/"), plan.reps,
          plan.traced_reps ? fmt::format(" + {} traced", plan.traced_reps) : "",
          plan.processes > 1 ? fmt::format(", {} processes each", plan.processes) : "",
          already ? fmt::format(", {} already done", already) : "", store->dir());
    CellProgress progress(int(cells.size()), already, o.quiet);
    const int all_reps = plan.reps + plan.traced_reps;
    for (std::size_t i = 0; i < cells.size() && !interrupted(); ++i) {
      const Cell& cell = cells[i];
      if (done.count(cell.key())) continue;
      progress.start(cell, all_reps);
      auto row = run_cell(ctx, cell, int(i));
      if (!row) break;                // interrupted: nothing recorded for this cell
      fsync_dir(store->path("raw"));  // the raw files a row names exist before the row
      store->append_row(runs::to_json(*row));
      progress.finish(cell, all_reps, *row);
    }
    if (interrupted()) {
      progress.clear_line();
      auto rows = store->done_keys().size();
      fmt::print(stderr,
                 "\nfaultline run: interrupted ({}); {} of {} cells recorded in {}\n"
                 "resume with: faultline run --resume {}\n",
                 strsignal(pending_interrupt()), rows, cells.size(), store->dir(), store->dir());
      return 128 + pending_interrupt();
    }
    return finish_run(plan, *store, cells.size(), o.quiet, ctx.user);
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline run: error: {}\n", e.what());
    return 1;
  }
}

CLI::App* add_run_options(CLI::App& app, RunOptions& options) {
  RunOptions* o = &options;
  auto* cmd = app.add_subcommand(
      "run",
      "benchmark every strategy x pattern x cache cell in fresh processes, store the results");
  cmd->footer(
      "Presets: " + preset_names() +
      ". Default: quick on a generated 1 GiB model.\n"
      "Each cell x repetition runs faultline-bench in its own cgroup: --reps untraced "
      "repetitions (the headline numbers), then --traced-reps traced ones (the tracer attached, "
      "root).\nOne measuring run per host: a second waits (or, --no-wait, refuses).\nExit "
      "status: 0 every cell ok (or OOM-killed under --memory-limit) and the report written; 1 "
      "otherwise; 2 bad arguments; 128+signal interrupted.\nResults: <results>/<UTC "
      "time>-<host>-<preset>/{env.json,plan.json,"
      "calibration.json,raw/,runs.jsonl}.\nCtrl-C stops cleanly; --resume DIR runs the missing "
      "cells.");
  cmd->footer(cmd->get_footer() + "\nStrategy presets (each a name for its expansion):\n" +
              preset_help());
  auto& r = o->request;
  cmd->add_option("--preset", r.preset, "quick | standard | seed | llama.cpp | full");
  cmd->add_option("--model", r.model, "model file (default: a generated GGUF of --size)");
  cmd->add_option("--size", r.size, "size of the generated default model (e.g. 1G, 512M)")
      ->check(cli::size());
  cmd->add_option("--strategies,--strategy", r.strategies,
                  "comma-separated strategy specs, e.g. 'read,mmap:private,llama.cpp'");
  cmd->add_option("--patterns,--pattern", r.patterns,
                  "comma-separated access patterns (none, first-layer, forward, sequential, "
                  "random:N, moe:K/N) or 'all'");
  cmd->add_option("--cache,--caches", r.caches, "cache states: cold, warm or cold,warm");
  cmd->add_option("--reps,--iterations", o->reps,
                  "untraced repetitions per cell (each a fresh process): the headline times, "
                  "memory and faults");
  cmd->add_option("--traced-reps", o->traced_reps,
                  "traced repetitions per cell on top (default 1; 0 with --no-trace): the bpf_* "
                  "evidence, timeline and RSS samples");
  cmd->add_option("--memory-limit", r.memory_limit,
                  "run each cell in a memory cgroup of this size (e.g. 2G); OOM kills are results")
      ->check(cli::size());
  cmd->add_option("--processes", o->processes,
                  "N loaders of the same file at once: each one's RSS/PSS and their sums");
  cmd->add_option("--plan", o->plan_file, "JSON plan file (keys as the flags; flags win)");
  cmd->add_option("--results", o->results, "folder for run folders")->capture_default_str();
  cmd->add_option("--resume", o->resume, "run only the missing cells of this run folder");
  cmd->add_option("--seed", r.seed, "seed of random:N and moe:K/N")->capture_default_str();
  cmd->add_option("--cell-timeout", r.cell_timeout_s,
                  "how long a cell may run before it is killed (a duration: 90s, 30m, 2h; bare "
                  "number = seconds)")
      ->transform(cli::duration_seconds())
      ->capture_default_str();
  cmd->add_option("--command", r.programs.commands,
                  "a program as cells cmd:NAME × program: 'NAME=PROGRAM ARG… {model} …' "
                  "(repeatable; split with '…' and \"…\" quoting, no shell, nothing expanded; "
                  "{model} = the model's path)")
      ->allow_extra_args(false);
  cmd->add_option("--command-baseline", r.programs.baselines,
                  "'NAME=PROGRAM ARG… {model} …': the same program on a tiny generated model of "
                  "the same kind (rows with pattern baseline: the runtime's own cost)")
      ->allow_extra_args(false);
  cmd->add_option("--ready", r.programs.ready,
                  "'NAME=REGEX' or a bare REGEX for every --command: ready = the first stdout "
                  "line matching it (ECMAScript), then memory is read and the program stopped "
                  "(default: ready = exit)")
      ->allow_extra_args(false);
  cmd->add_option("--fidelity", r.programs.fidelity,
                  "cmd:NAME=PRESET: the strategy spec that claims to stand for the program "
                  "(plan.json \"fidelity\", for the report's fidelity table; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--drop-caches", r.drop_caches,
                "cold: also drop the whole page cache (root), not just the model's pages");
  cmd->add_flag("--no-trace", o->no_trace, "do not attach the eBPF tracer");
  cmd->add_flag("--as-root", o->as_root,
                "under sudo, run the benchmark processes as root too (default: as the user who "
                "ran sudo, with root kept for the tracer, cache drops and cgroups)");
  cmd->add_flag("--no-calibration", o->no_calibration,
                "skip the storage and page-cache bandwidth calibration");
  cmd->add_flag(
      "--no-wait", o->no_wait,
      "when another measuring run holds the host lock, refuse at once instead of waiting");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress lines and no notes");
  return cmd;
}

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = add_run_options(app, *o);
  cmd->callback([o] {
    RunOptions opts = *o;
    opts.request.trace = !opts.no_trace;
    if (opts.reps != 0) opts.request.reps = opts.reps;
    if (opts.traced_reps) opts.request.traced_reps = opts.traced_reps;
    if (opts.processes != 0) opts.request.processes = opts.processes;
    throw CLI::RuntimeError(run(opts));
  });
}

void add_harness_commands(CLI::App& app) {
  add_run_command(app);
  add_env_command(app);
}

}  // namespace faultline::harness
