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
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "benchmarks/default_model.h"
#include "datasets/size.h"
#include "harness/calibration.h"
#include "harness/cell_runner.h"
#include "harness/cgroup.h"
#include "harness/child_process.h"
#include "harness/credentials.h"
#include "harness/host_env.h"
#include "harness/progress.h"
#include "harness/results_store.h"
#include "harness/summary_table.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

constexpr int kBadArguments = 2;

struct BadArguments : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::optional<std::string> tracing_off_reason() {
#if FAULTLINE_HARNESS_BPF
  return bpf::tracing_unavailable_reason();
#else
  return std::string("built without the bpf/ tracer");
#endif
}

void check_executable(const std::string& path, const char* name, const char* env) {
  if (::access(path.c_str(), X_OK) != 0)
    throw BadArguments(fmt::format("{} not found at {} (build it, or set {})", name, path, env));
}

// Everything about the request that can fail, checked before anything runs.
void check_same_credentials(const ResultsStore& store, const std::optional<Credentials>& user);

Plan prepare_plan(const RunOptions& o, const CgroupHost& cgroups,
                  const std::optional<Credentials>& user) {
  if (!o.resume.empty()) {
    const auto& r = o.request;
    if (!r.preset.empty() || !r.model.empty() || !r.size.empty() || !r.strategies.empty() ||
        !r.patterns.empty() || !r.caches.empty() || r.reps || !r.memory_limit.empty() ||
        r.processes || !o.plan_file.empty())
      throw BadArguments(
          "--resume takes the matrix from the run folder's plan.json; drop the matrix flags");
    auto store = ResultsStore::open(o.resume);
    check_same_credentials(store, user);
    Plan plan = plan_from_json(store.read_json("plan.json"));
    if (!fs::exists(plan.model))
      throw BadArguments(fmt::format("model file {} (from plan.json) does not exist", plan.model));
    return plan;
  }
  PlanRequest request = o.request;
  if (!o.plan_file.empty()) request.merge_plan_file(o.plan_file);
  Plan plan = resolve_plan(request, numa_node_count());
  if (plan.memory_limit_bytes) {
    if (::geteuid() != 0)
      throw BadArguments("--memory-limit needs root (it creates a memory cgroup); try sudo");
    if (!cgroups.can_limit_memory())
      throw BadArguments("--memory-limit: no cgroup memory controller on this host");
  }
  if (!plan.model.empty()) bind_model(plan, plan.model);
  check_writable(o.results);
  return plan;
}

// Under sudo: the user the benchmarks run as, after checking that they can
// run faultline-bench and read the model (a model they cannot read is
// refused, never read as root) and see its page-cache residency.
std::optional<Credentials> benchmark_user(const RunOptions& o) {
  if (o.as_root) return std::nullopt;
  return invoking_user();
}

constexpr const char* kAsRootHint = "; or pass --as-root to run the benchmarks as root";

void check_model_access(const Credentials& user, const std::string& model) {
  if (int err = open_errno_as(user, model); err != 0)
    throw BadArguments(
        fmt::format("{}: {} cannot read it ({}); faultline will not read as root "
                    "a model the user who ran sudo cannot{}",
                    model, user.describe(), std::strerror(err), kAsRootHint));
  if (!sees_residency_as(user, model))
    throw BadArguments(fmt::format(
        "{}: the kernel shows page-cache residency (needed to verify cold and warm) only to a "
        "file's owner or a writer, and {} is neither: chown it to them{}",
        model, user.describe(), kAsRootHint));
}

void check_user_access(const Credentials& user, const Plan& plan, const std::string& bench,
                       const std::string& hold) {
  const std::string hint = kAsRootHint;
  if (!plan.model.empty()) check_model_access(user, plan.model);
  for (const auto& exe : {bench, hold})
    if (int err = exec_errno_as(user, exe); err != 0)
      throw BadArguments(
          fmt::format("{} cannot run {}: {} (the benchmarks run as the user who "
                      "ran sudo: build faultline where they can reach it{})",
                      user.describe(), exe, std::strerror(err), hint));
}

// env.json records whose credentials the benchmark processes had.
nlohmann::json with_run_as(nlohmann::json env, const std::optional<Credentials>& user) {
  if (user)
    env["benchmarks_run_as"] = {{"user", user->name}, {"uid", user->uid}, {"gid", user->gid}};
  else
    env["benchmarks_run_as"] = {{"user", ::geteuid() == 0 ? "root" : "the caller"},
                                {"uid", ::geteuid()},
                                {"gid", ::getegid()}};
  return env;
}

// Where the default model lives: under sudo, the invoking user's cache
// (it is generated with their file rights and read by their benchmarks).
std::string model_cache_dir(const std::optional<Credentials>& user) {
  if (const char* d = std::getenv("FAULTLINE_CACHE_DIR"); d && *d) return d;
  if (user && !user->home.empty()) return user->home + "/.cache/faultline";
  return cache_dir();
}

// A resumed run keeps the credentials its benchmarks started with.
void check_same_credentials(const ResultsStore& store, const std::optional<Credentials>& user) {
  if (!fs::exists(store.path("env.json"))) return;
  const auto env = store.read_json("env.json");
  if (!env.contains("benchmarks_run_as")) return;
  const auto& was = env["benchmarks_run_as"];
  const auto now_uid = user ? user->uid : ::geteuid();
  if (was.value("uid", std::int64_t{-1}) != std::int64_t(now_uid))
    throw BadArguments(fmt::format(
        "{}: its benchmarks ran as {} (uid {}), these would run as uid {}; resume it the same "
        "way (through sudo as that user, or with/without --as-root as before)",
        store.dir(), was.value("user", std::string("?")), was.value("uid", std::int64_t{-1}),
        now_uid));
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

  try {
    std::unique_ptr<ResultsStore> store;
    if (!o.resume.empty()) {
      install_interrupt_handlers();
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
      // Before the run folder exists (and after the model generator, which
      // has handlers of its own): a SIGTERM from here on stops the run
      // between files, never inside one.
      install_interrupt_handlers();
      store = std::make_unique<ResultsStore>(
          ResultsStore::create(o.results, short_hostname(), plan.preset));
      store->write_json("plan.json", to_json(plan));
      store->write_json("env.json", with_run_as(capture_env(plan.model), user));
    }
    for (const auto& s : plan.skipped)
      if (!o.quiet) fmt::print(stderr, "faultline run: skipped {}\n", s);

    RunContext ctx;
    ctx.plan = &plan;
    ctx.store = store.get();
    ctx.cgroups = cgroups;
    ctx.bench = bench;
    ctx.hold = hold;
    ctx.user = user ? &*user : nullptr;
    if (user && !o.quiet)
      fmt::print(stderr, "faultline run: benchmarks run as {} (--as-root to run them as root)\n",
                 user->describe());
    ctx.use_cgroups = ::geteuid() == 0 && (cgroups.can_identify() || cgroups.can_limit_memory());
    if (ctx.use_cgroups) remove_stale_cgroups(cgroups);
    if (plan.trace && !o.no_trace) {
      auto reason = tracing_off_reason();
      if (!reason && plan.processes > 1 && !(ctx.use_cgroups && cgroups.can_identify()))
        reason = "no cgroup v2 hierarchy to follow the fleet's processes by";
      if (reason) {
        fmt::print(stderr, "faultline run: warning: tracing off: {}\n", *reason);
        ctx.trace_off = *reason;
      } else
        ctx.trace = true;
    }
    if (!plan.trace || o.no_trace) ctx.trace_off = "--no-trace";
    if (!ctx.use_cgroups && !o.quiet)
      fmt::print(stderr, "faultline run: note: not root: cells run without their own cgroup\n");

    if (!o.no_calibration && !fs::exists(store->path("calibration.json"))) {
      if (!o.quiet) fmt::print(stderr, "faultline run: calibrating on {}…\n", plan.model);
      auto cal = calibrate({plan.model, plan.model_bytes, bench, plan.drop_caches, ctx.user});
      if (!interrupted()) store->write_json("calibration.json", cal);
      if (!o.quiet) {
        auto show = [](const nlohmann::json& j) {
          return j.contains("gbps") ? fmt::format("{:.2f} GB/s", j["gbps"].get<double>())
                                    : "failed: " + j.value("error", std::string("?"));
        };
        fmt::print(stderr, "  storage sequential read: {} ({})\n  page-cache copy: {}\n",
                   show(cal["storage"]), cal["storage"].value("method", ""),
                   show(cal["pagecache"]));
      }
    }

    auto cells = plan.cells();
    auto done = store->done_keys();
    int already = 0;
    for (const auto& c : cells) already += done.count(c.key()) ? 1 : 0;
    if (!o.quiet)
      fmt::print(
          stderr, "faultline run: {} cells ({} strategies × {} patterns × {} × {} reps{}){} → {}\n",
          cells.size(), plan.strategies.size(), plan.patterns.size(), fmt::join(plan.caches, "/"),
          plan.reps, plan.processes > 1 ? fmt::format(", {} processes each", plan.processes) : "",
          already ? fmt::format(", {} already done", already) : "", store->dir());
    Progress progress(int(cells.size()), already, o.quiet);
    int failed = 0;
    for (std::size_t i = 0; i < cells.size() && !interrupted(); ++i) {
      const Cell& cell = cells[i];
      if (done.count(cell.key())) continue;
      progress.start(cell, plan.reps);
      auto row = run_cell(ctx, cell, int(i));
      if (!row) break;                // interrupted: nothing recorded for this cell
      fsync_dir(store->path("raw"));  // the raw files a row names exist before the row
      store->append_row(runs::to_json(*row));
      failed += row->status != runs::Status::kOk;
      progress.finish(cell, plan.reps, *row);
    }
    if (interrupted()) {
      progress.clear_line();
      auto rows = store->done_keys().size();
      fmt::print(stderr,
                 "\nfaultline run: interrupted ({}); {} of {} cells recorded in {}\n"
                 "resume with: faultline run --resume {}\n",
                 strsignal(interrupt_signal()), rows, cells.size(), store->dir(), store->dir());
      return 128 + interrupt_signal();
    }
    auto rows = store->rows();
    failed = 0;  // over the whole run folder, resumed parts included
    for (const auto& r : rows) failed += r.value(runs::field::kStatus, "") != "ok";
    fmt::print("\n{}\n", summary_table(plan, rows));
    fmt::print("results: {}  ({} rows in runs.jsonl{})\n", store->dir(), rows.size(),
               failed ? fmt::format(", {} cells not ok", failed) : "");
    if (!rows.empty()) {
      if (int rc = write_report(store->dir(), o.quiet, ctx.user); rc != 0)
        fmt::print(stderr,
                   "faultline run: report not written (status {}); retry: faultline report {}\n",
                   rc, store->dir());
      else
        fmt::print("report:  {}/report.html  (and report.md, results.csv, plots/)\n", store->dir());
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline run: error: {}\n", e.what());
    return 1;
  }
}

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand(
      "run",
      "benchmark every strategy x pattern x cache cell in fresh processes, store the results");
  cmd->footer(
      "Presets: " + preset_names() +
      ". Default: quick on a generated 1 GiB model.\n"
      "Each cell x repetition runs faultline-bench in its own cgroup (tracer attached when "
      "root).\nResults: <results>/<UTC time>-<host>-<preset>/{env.json,plan.json,"
      "calibration.json,raw/,runs.jsonl}.\nCtrl-C stops cleanly; --resume DIR runs the missing "
      "cells.");
  auto& r = o->request;
  cmd->add_option("--preset", r.preset, "quick | standard | seed | llama.cpp | full");
  cmd->add_option("--model", r.model, "model file (default: a generated GGUF of --size)");
  cmd->add_option("--size", r.size, "size of the generated default model (e.g. 1G, 512M)");
  cmd->add_option("--strategies", r.strategies,
                  "comma-separated strategy specs, e.g. 'read,mmap:private,llama.cpp'");
  cmd->add_option("--patterns", r.patterns,
                  "comma-separated access patterns (none, first-layer, forward, sequential, "
                  "random:N, moe:K/N) or 'all'");
  cmd->add_option("--cache", r.caches, "cache states: cold, warm or cold,warm");
  cmd->add_option("--reps", o->reps, "repetitions per cell (each a fresh process)");
  cmd->add_option("--memory-limit", r.memory_limit,
                  "run each cell in a memory cgroup of this size (e.g. 2G); OOM kills are results");
  cmd->add_option("--processes", o->processes,
                  "N loaders of the same file at once: each one's RSS/PSS and their sums");
  cmd->add_option("--plan", o->plan_file, "JSON plan file (keys as the flags; flags win)");
  cmd->add_option("--results", o->results, "folder for run folders")->capture_default_str();
  cmd->add_option("--resume", o->resume, "run only the missing cells of this run folder");
  cmd->add_option("--seed", r.seed, "seed of random:N and moe:K/N")->capture_default_str();
  cmd->add_option("--cell-timeout", r.cell_timeout_s, "seconds before a cell is killed")
      ->capture_default_str();
  cmd->add_flag("--drop-caches", r.drop_caches,
                "cold: also drop the whole page cache (root), not just the model's pages");
  cmd->add_flag("--no-trace", o->no_trace, "do not attach the eBPF tracer");
  cmd->add_flag("--as-root", o->as_root,
                "under sudo, run the benchmark processes as root too (default: as the user who "
                "ran sudo, with root kept for the tracer, cache drops and cgroups)");
  cmd->add_flag("--no-calibration", o->no_calibration,
                "skip the storage and page-cache bandwidth calibration");
  cmd->add_flag("-q,--quiet", o->quiet, "no per-cell progress lines");
  cmd->callback([o] {
    RunOptions opts = *o;
    opts.request.trace = !opts.no_trace;
    if (opts.reps != 0) opts.request.reps = opts.reps;
    if (opts.processes != 0) opts.request.processes = opts.processes;
    throw CLI::RuntimeError(run(opts));
  });
}

void add_harness_commands(CLI::App& app) {
  add_run_command(app);
  add_env_command(app);
}

}  // namespace faultline::harness
