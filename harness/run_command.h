// `faultline run`: plan the matrix, check everything that can be checked
// before anything runs, then run every cell x repetition in a fresh process
// (own cgroup, tracer attached), store the results durably, print progress
// and, at the end, the comparison table and where the results are.
#pragma once

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
  bool as_root = false;  // under sudo: benchmarks as root, not as the invoking user
  int reps = 0;          // --reps (0 = not given)
  int processes = 0;     // --processes (0 = not given)
};

// Registers `faultline run`; its callback ends through CLI::RuntimeError with
// the exit code: 0 done, 1 failure while running, 2 bad arguments (nothing
// ran), 130 / 143 interrupted (resumable).
void add_run_command(CLI::App& app);

int run(const RunOptions& options);

// `run` and `env` together: the one line faultline_main.cpp needs.
void add_harness_commands(CLI::App& app);

}  // namespace faultline::harness
