// hyperfine-like progress: one line per finished cell with its index, name,
// headline numbers and the estimated time left. On a terminal the running
// cell is shown on a status line that the result then overwrites; otherwise
// plain lines only. --quiet prints nothing per cell.
#pragma once

#include <chrono>
#include <string>

#include "harness/plan.h"
#include "harness/runs_schema.h"

namespace faultline::harness {

class Progress {
 public:
  Progress(int total, int already_done, bool quiet);
  void start(const Cell& cell, int reps);
  void finish(const Cell& cell, int reps, const runs::Row& row);
  void clear_line();  // before printing something else on a terminal

 private:
  std::string prefix(const Cell& cell, int reps) const;
  std::string eta() const;
  int total_, done_, run_here_ = 0;
  bool quiet_, tty_;
  double spent_s_ = 0;
  std::chrono::steady_clock::time_point cell_start_;
};

// "1234", "12.3", "0.012": milliseconds with the digits that matter
std::string format_ms(double ms);

// "1m05s", "12.3s", "850ms"
std::string format_duration(double seconds);

}  // namespace faultline::harness
