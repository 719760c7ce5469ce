// The runs.jsonl row: the C++ side of results/schema.json (field names, types
// and versions come from the generated schema/row_fields.h, metric names from
// schema/metrics.h). One row = one cell x repetition, appended only when the
// cell is complete, whatever its outcome (ok, failed, oom_killed, timeout).
// validate() and analysis/schema.py's validate() interpret the same schema
// with the same messages; tests/harness/test_validators_agree.py runs both on
// one corpus.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/row_fields.h"

namespace faultline::harness::runs {

enum class Status { kOk, kFailed, kOomKilled, kTimeout };
const char* to_string(Status s);

struct Row {
  std::string run_id;
  std::string strategy, pattern, cache;
  int rep = 1;
  bool traced = false;  // the tracer was attached: bpf_* evidence, not headline times
  Status status = Status::kOk;
  std::optional<std::string> error;
  std::string started_at;
  double wall_s = 0;
  std::string model;
  std::uint64_t model_bytes = 0;
  int processes = 1;
  std::optional<std::uint64_t> memory_limit_bytes;
  std::optional<int> exit_code, term_signal;
  std::map<std::string, double> metrics;            // only what was measured
  std::map<std::string, std::string> not_measured;  // metric -> why not
  std::vector<std::string> probes;                  // mechanisms that measured it
  std::vector<std::map<std::string, double>> fleet;
  std::vector<std::string> warnings;
  std::vector<std::string> raw;
  // Program cells (strategy cmd:NAME): the argv that ran; empty (and left
  // out of the row) for every other cell.
  std::vector<std::string> command;

  std::string cell() const;  // load/<strategy>/<pattern>/<cache>
};

// Version kSchemaVersion.
nlohmann::json to_json(const Row& row);

// Every problem with a row, empty when it is valid (any readable version):
// missing, unknown or mistyped fields, an unknown version, metric names the
// schema does not know (v2; v1: not snake_case), a metric both measured and
// not measured, an ok row without ready_ms (or fleet_pss_bytes and one fleet
// entry per process when processes > 1), a non-ok row without an error.
std::vector<std::string> validate(const nlohmann::json& row);

// The (cell, rep) key of a row: "<cell>#<rep>" (matches harness::Cell::key()).
std::string row_key(const nlohmann::json& row);

}  // namespace faultline::harness::runs
