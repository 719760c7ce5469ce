// One cell x repetition in a fresh process: faultline-bench filtered to exactly
// that cell (--iterations 1, JSON into raw/), or a fleet of faultline-hold
// loaders for --processes N; inside its own cgroup. Traced repetitions have
// the tracer on their timed region (its bpf_*, timeline and RSS samples);
// untraced ones run alone and give the headline numbers. Every outcome but an
// interrupt becomes a runs.jsonl row, with its not_measured reasons and the
// doctor's verdicts applied.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/availability.h"
#include "common/cgroup.h"
#include "harness/plan.h"
#include "harness/results_store.h"
#include "harness/runs_schema.h"

namespace faultline {
struct Credentials;
}  // namespace faultline

namespace faultline::harness {

struct RunContext {
  const Plan* plan = nullptr;
  const ResultsStore* store = nullptr;
  CgroupHost cgroups;
  bool use_cgroups = false;  // root and a cgroup hierarchy
  bool trace = false;        // tracer attached to each cell's cgroup
  std::string trace_off;     // why not, for the rows ("off: <reason>")
  std::string bench;         // faultline-bench path
  std::string hold;          // faultline-hold path
  // The benchmark processes run as this user (sudo's invoker) while the
  // harness keeps root for the tracer, cache drops and cgroups; nullptr:
  // they run with the harness's own credentials (--as-root, or not root).
  const Credentials* user = nullptr;
  // `faultline doctor`'s failed families (env.json "doctor"): family -> reason.
  std::map<std::string, std::string> doctor_failed;
};

// Runs the cell (`index` = its position in plan.cells()). nullopt when the run
// was interrupted meanwhile (nothing is recorded for the cell then).
std::optional<runs::Row> run_cell(const RunContext& ctx, const Cell& cell, int index);

// `--drop-caches` (a global page-cache drop before each cold load) for a
// faultline-bench run: a bench with root's credentials drops for itself (the
// returned flag); one running as `user` cannot, so the drop is done here,
// now, just before it starts (nothing returned). Calibration and cells alike.
std::vector<std::string> global_drop_for_bench(bool drop_caches, const std::string& cache,
                                               const Credentials* user);

// A traced repetition's not_measured: every bpf_* metric the tracer did not
// give, with why (`why_untraced`: why it did not run, "" when it did). An
// untraced repetition lists none (its `traced: false` says it).
void trace_availability(bool traced_rep, const std::string& why_untraced,
                        const std::map<std::string, double>& metrics, Availability& a);

// raw/ file stem of a cell: "0007-mmap_private_advise=random-forward-cold-rep2".
std::string raw_stem(const Cell& cell, int index);

}  // namespace faultline::harness
