// One repetition of a program cell (strategy cmd:NAME, pattern program or
// baseline): the model brought to the cell's cache state and verified, the
// program started held in a fresh cgroup as the benchmark user, the tracer
// attached to that cgroup and the model (traced repetitions), then released;
// ready = the first stdout line matching its --ready regex (then its memory
// is read and it is stopped: SIGTERM, SIGKILL after a grace) or its exit
// (sampled while it runs). Metrics of the whole process tree; what cannot be
// measured is in not_measured with why.
#pragma once

#include <optional>
#include <string>

#include "harness/cell_runner.h"

namespace faultline::harness {

inline constexpr double kProgramStopGraceS = 5;  // SIGTERM → SIGKILL after a ready program

// `row` has the cell's identity filled (run_cell); nullopt when interrupted.
std::optional<runs::Row> run_program_cell(const RunContext& ctx, const Cell& cell,
                                          const std::string& stem, runs::Row row);

}  // namespace faultline::harness
