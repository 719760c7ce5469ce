// The table `faultline run` prints at the end: per strategy and pattern, cold
// and warm, startup latency (ready_ms) and memory (rss_bytes; fleet sums for
// --processes) as the median over the untraced repetitions (the traced ones
// give evidence, not headline numbers) with its min…max range.
//
// The numbers are the report's: the analysis computes every median and
// spread (analysis/cells.py, stats.py) and writes them to the run folder's
// results.json (analysis/results_csv.py); this only lays them out. Without
// that file (the report could not be written) the table says so.
// Cells with repetitions that did not succeed show their status and count.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "harness/plan.h"

namespace faultline::harness {

// The table from results.json's content; throws std::runtime_error when it
// is not that file's layout.
std::string summary_table(const Plan& plan, const nlohmann::json& results);

// The table from <run_dir>/results.json, or one line saying why there is none.
std::string summary_table_from_report(const Plan& plan, const std::string& run_dir);

}  // namespace faultline::harness
