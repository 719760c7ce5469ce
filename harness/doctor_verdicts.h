// `faultline doctor`'s verdicts in the rows. The doctor runs known-answer
// workloads and stores, in env.json,
//   "doctor": {"families": {"<family>": {"verdict": "pass" | "fail" | "unavailable",
//                                        "mechanism": "...", "reason": "..."}},
//              "checks": [...]}
// A metric whose schema family (results/schema.json, faultline::metric::find)
// failed its check is not evidence on this kernel: it leaves the row's
// metrics (and every fleet entry) for not_measured, with the doctor's reason.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/runs_schema.h"

namespace faultline::harness {

// Family -> the doctor's reason, for every family whose verdict is "fail".
// Entries that are not objects, or have no verdict, are ignored.
std::map<std::string, std::string> failed_families(const nlohmann::json& doctor);

// "faultline doctor: <family> failed its known-answer check on this kernel: <reason>"
std::string doctor_reason(const std::string& family, const std::string& reason);

// Moves every metric of a failed family from the row's metrics (and fleet
// entries) to not_measured. Returns how many metrics it moved.
int apply_doctor_verdicts(const std::map<std::string, std::string>& failed, runs::Row& row);

}  // namespace faultline::harness
