// --processes N: N faultline-hold loaders of the same file at once, in one
// cgroup, measured like a single cell. Each loader parses the model header
// and says so; then the harness brings the file to the cache state; each
// loader verifies the residency itself (cold <= 1 %, warm >= 99 %: a loader
// that finds it wrong fails the cell with its reason); then one barrier (the
// harness closes a pipe every loader waits on) releases them all together.
// Each loads with the cell's strategy, touches its pattern, says "ready" and
// holds its mapping; when all N are ready each samples its own RSS and PSS
// (so PSS splits the shared pages N ways), then all exit. The row gets each
// loader's metrics (its faults and storage reads over release -> ready, its
// verified residency) and their sums (fleet_rss_bytes, fleet_pss_bytes).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "harness/plan.h"

namespace faultline {
struct Credentials;
}  // namespace faultline

namespace faultline::harness {

struct FleetResult {
  std::vector<std::map<std::string, double>> processes;  // one per loader, with "pid"
  std::map<std::string, double> sums;                    // fleet_* metrics
  std::optional<std::string> error;
  ExitInfo exit;  // the worst loader's exit (a signal beats a nonzero code)
  std::vector<std::string> warnings;
};

// What the caller does at the fleet's timed region's edges (the tracer's
// snapshots): right before the release and once the last loader is ready.
struct FleetHooks {
  std::function<void()> at_release;
  std::function<void()> at_all_ready;
};

// The cache state is prepared here (evict or warm) once every loader has
// parsed the header; the loaders run as `as_user` when given
// (common/credentials.h).
FleetResult run_fleet(const std::string& hold_exe, const Plan& plan, const Cell& cell,
                      const std::vector<std::string>& cgroup_procs, const std::string& log_path,
                      const Credentials* as_user = nullptr, const FleetHooks& hooks = {});

}  // namespace faultline::harness
