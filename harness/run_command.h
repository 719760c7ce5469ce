// `faultline run`: plan the matrix, check everything that can be checked
// before anything runs, then run every cell x repetition in a fresh process
// (own cgroup, tracer attached), store the results durably, print progress
// and, at the end, the comparison table and where the results are.
#pragma once

#include <optional>
#include <string>

#include "harness/plan.h"

namespace CLI {
class App;
}

namespace faultline::harness {

struct RunOptions {
  PlanRequest request;
  std::string plan_file;
  std::string results = "results";
  std::string resume;
  bool quiet = false;
  bool no_trace = false;
  bool no_calibration = false;
  bool as_root = false;            // under sudo: benchmarks as root, not as the invoking user
  bool no_wait = false;            // --no-wait: refuse when another run holds the host lock
  int reps = 0;                    // --reps (0 = not given)
  std::optional<int> traced_reps;  // --traced-reps
  int processes = 0;               // --processes (0 = not given)
};

// Registers `faultline run`; its callback ends through CLI::RuntimeError with
// the exit code: 0 every cell ok (or an outcome the plan expects: an OOM kill
// under --memory-limit) and the report written; 1 otherwise (after writing
// everything; the last line counts what was not ok), or another run holds
// the host lock and --no-wait; 2 bad arguments (nothing ran); 128 + signal
// interrupted (resumable; interrupted while waiting for the lock: nothing ran).
void add_run_command(CLI::App& app);

// The `run` subcommand's options alone, parsed into `options` (no callback):
// what add_run_command uses, and what tests parse command lines with.
CLI::App* add_run_options(CLI::App& app, RunOptions& options);

int run(const RunOptions& options);

// `run` and `env` together: the one line faultline_main.cpp needs.
void add_harness_commands(CLI::App& app);

}  // namespace faultline::harness
