// --processes N: N faultline-hold loaders of the same file at once, in one
// cgroup. Each loads with the cell's strategy and touches its pattern, says
// "ready", and holds its mapping; when all N are ready each samples its own
// RSS and PSS (so PSS splits the shared pages N ways), then all exit. The
// row gets each loader's metrics and their sums (fleet_rss_bytes,
// fleet_pss_bytes).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/child_process.h"
#include "harness/plan.h"

namespace faultline::harness {

struct Credentials;

struct FleetResult {
  std::vector<std::map<std::string, double>> processes;  // one per loader, with "pid"
  std::map<std::string, double> sums;                    // fleet_* metrics
  std::optional<std::string> error;
  ExitInfo exit;  // the worst loader's exit (a signal beats a nonzero code)
  std::vector<std::string> warnings;
};

// The cache state is prepared here (evict or warm) before the loaders start;
// the loaders run as `as_user` when given (harness/credentials.h).
FleetResult run_fleet(const std::string& hold_exe, const Plan& plan, const Cell& cell,
                      const std::vector<std::string>& cgroup_procs, const std::string& log_path,
                      const Credentials* as_user = nullptr);

}  // namespace faultline::harness
