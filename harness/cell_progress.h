// `faultline run`'s progress, on the one bar (common/progress.h): one line
// per finished cell with its index, name, headline numbers and the estimated
// time left; on a terminal the running cell is the bar's status line, which
// the result then replaces; otherwise the result lines only. --quiet prints
// nothing per cell.
#pragma once

#include <string>

#include "common/progress.h"
#include "harness/plan.h"
#include "harness/runs_schema.h"

namespace faultline::harness {

class CellProgress {
 public:
  CellProgress(int total, int already_done, bool quiet);
  void start(const Cell& cell, int reps);
  void finish(const Cell& cell, int reps, const runs::Row& row);
  void clear_line() { bar_.clear(); }  // before printing something else on a terminal

 private:
  std::string prefix(const Cell& cell, int reps) const;
  int total_, done_;
  ProgressBar bar_;
};

// "1234", "12.3", "0.012": milliseconds with the digits that matter
std::string format_ms(double ms);

}  // namespace faultline::harness
