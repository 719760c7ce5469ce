// The table `faultline run` prints at the end: per strategy and pattern, cold
// and warm, startup latency (ready_ms) and memory (rss_bytes; fleet sums for
// --processes) as the median over the untraced repetitions (the traced ones
// give evidence, not headline numbers) with its min…max range.
// Cells that did not succeed show their status and count instead.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan.h"

namespace faultline::harness {

std::string summary_table(const Plan& plan, const std::vector<nlohmann::json>& rows);

}  // namespace faultline::harness
