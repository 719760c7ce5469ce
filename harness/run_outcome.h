// The end of `faultline run`: over the whole run folder (resumed parts
// included) the report, the summary table of the untraced repetitions (the
// report's numbers: harness/summary_table.h), and
// the exit status: 0 when every cell is ok or an outcome the plan expects
// (an OOM kill under --memory-limit) and the report was written; otherwise 1,
// with the count on the last line ("faultline run: 3 of 40 cells not ok (2
// failed, 1 timeout); report: ...").
#pragma once

#include <cstddef>

#include "harness/plan.h"
#include "harness/results_store.h"

namespace faultline {
struct Credentials;
}  // namespace faultline

namespace faultline::harness {

// Prints the summary, writes the report (as `user` when given), returns the
// exit status. `cells`: how many cell x repetitions the plan has.
int finish_run(const Plan& plan, const ResultsStore& store, std::size_t cells, bool quiet,
               const Credentials* user);

}  // namespace faultline::harness
