// The matrix a `faultline run` measures: which model, which strategies,
// patterns and cache states, how many repetitions, under which limits. A Plan
// is resolved (every name parsed and canonical, the model known) before
// anything runs, and saved as plan.json so that --resume runs the same cells.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/program_spec.h"

namespace faultline::harness {

constexpr int kMaxReps = 1000;      // reps and traced_reps
constexpr int kMaxProcesses = 256;  // processes

// What the user asked for, as text (flags and/or a --plan JSON file). Empty /
// nullopt = "take it from the preset".
struct PlanRequest {
  std::string preset;              // "" = quick, or custom when strategies are given
  std::string model;               // path; "" = generated default model of `size`
  std::string size;                // "1G"
  std::string strategies;          // comma list (parse_strategy_list)
  std::string patterns;            // comma list; "all" = every pattern that fits the model
  std::string caches;              // "cold,warm"
  std::optional<int> reps;         // untraced repetitions (headline numbers)
  std::optional<int> traced_reps;  // traced repetitions on top (bpf_* evidence)
  std::string memory_limit;        // "2G"
  std::optional<int> processes;
  bool drop_caches = false;
  bool trace = true;
  std::uint64_t seed = 42;
  double cell_timeout_s = 1800;
  ProgramRequest programs;  // --command, --command-baseline, --ready, --fidelity

  // Fills the fields that are still empty from a --plan JSON file (flags win).
  // Throws std::invalid_argument naming the file, the key and what was
  // expected for an unknown key or a value of the wrong type, out of range or
  // that does not parse (harness/plan_file.cpp).
  void merge_plan_file(const std::string& path);
};

struct PresetInfo {
  std::string name;
  std::string description;
  std::string size;
  std::vector<std::string> strategies;  // canonical specs
  std::string patterns;                 // comma list or "all"
  int reps;
  // Drop the cells that cannot differ (patterns beyond none and forward of a
  // strategy that loads everything up front) when the patterns are the
  // preset's own.
  bool only_cells_that_differ = false;
};
const std::vector<PresetInfo>& plan_presets();
std::string preset_names();  // "quick, standard, seed, llama.cpp, full"

// One measurement: a cell (strategy x pattern x cache) at one repetition.
// Repetitions 1..reps are untraced (their times, memory and faults are the
// headline numbers); reps+1..reps+traced_reps run with the tracer, its
// timeline and RSS sampler attached (their bpf_* are the cell's evidence).
struct Cell {
  std::string strategy;  // canonical spec
  std::string pattern;   // canonical pattern
  std::string cache;     // "cold" | "warm"
  int rep = 1;           // 1-based
  bool traced = false;   // a traced repetition

  // faultline-bench's benchmark name: load/<strategy>/<pattern>/<cache>.
  std::string name() const;
  // name + "#" + rep: unique within a run.
  std::string key() const;
};

// Cells of the matrix a plan does not run, with why (one entry per rule).
struct DroppedCells {
  std::string reason;
  std::vector<std::string> cells;  // Cell::name(): load/<strategy>/<pattern>/<cache>
};

struct Plan {
  std::string preset;                     // preset name or "custom"
  std::string model;                      // absolute path ("" until the default model is generated)
  std::uint64_t default_model_bytes = 0;  // when model is generated
  std::uint64_t model_bytes = 0;
  std::vector<std::string> strategies, patterns, caches;
  std::vector<std::string> skipped;     // "llama.cpp:numa: needs several NUMA nodes"
  std::vector<DroppedCells> dropped;    // strategies x patterns x caches not in cells()
  bool only_cells_that_differ = false;  // fill `dropped` once the patterns are known
  int reps = 3;                         // untraced repetitions per cell
  int traced_reps = 1;                  // traced repetitions per cell (0 with --no-trace)
  std::optional<std::uint64_t> memory_limit_bytes;
  int processes = 1;
  bool drop_caches = false;
  bool trace = true;
  std::uint64_t seed = 42;
  double cell_timeout_s = 1800;
  // Programs as cells: cmd:NAME × program (and × baseline with a
  // --command-baseline) × caches, after the strategies' cells of each rep.
  std::vector<ProgramCommand> commands;
  std::map<std::string, std::string> fidelity;  // "cmd:NAME" -> canonical strategy spec

  // The program of a cmd:NAME cell; nullptr for any other strategy.
  const ProgramCommand* command_of(const std::string& strategy) const;

  // Every cell x repetition but the dropped ones, repetition-major (rep 1 of every cell first), so
  // an interrupted run has spread over the whole matrix; the untraced
  // repetitions of every cell first, the traced ones last, so an interrupted
  // run has its headline numbers.
  std::vector<Cell> cells() const;
};

// Parses and checks everything in the request that can be checked without
// the model (strategies, patterns syntax, caches, sizes, preset, model
// existence). Throws std::invalid_argument naming the problem.
Plan resolve_plan(const PlanRequest& request, int numa_nodes);

// Once the model exists: checks that the patterns fit it and expands "all".
void bind_model(Plan& plan, const std::string& model_path);

// One line per rule of plan.dropped: how many cells, which strategies and
// patterns, and why.
std::vector<std::string> dropped_summary(const Plan& plan);

nlohmann::json to_json(const Plan& plan);
Plan plan_from_json(const nlohmann::json& j);  // throws std::invalid_argument

}  // namespace faultline::harness
