// THE one owner of the runs.jsonl row schema (documented in results/README.md;
// analysis/ reads it). One row = one cell x repetition, appended only when the
// cell is complete, whatever its outcome (ok, failed, oom_killed, timeout).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness::runs {

inline constexpr int kSchemaVersion = 1;

// Field names of a row.
inline constexpr const char* kVersion = "schema_version";  // int, == kSchemaVersion
inline constexpr const char* kRunId = "run_id";            // the run folder's name
inline constexpr const char* kCell = "cell";               // load/<strategy>/<pattern>/<cache>
inline constexpr const char* kStrategy = "strategy";       // canonical spec
inline constexpr const char* kPattern = "pattern";
inline constexpr const char* kCache = "cache";           // cold | warm
inline constexpr const char* kRep = "rep";               // 1-based
inline constexpr const char* kStatus = "status";         // see Status
inline constexpr const char* kError = "error";           // string or null
inline constexpr const char* kStartedAt = "started_at";  // UTC ISO 8601
inline constexpr const char* kWallS = "wall_s";          // seconds, whole child process
inline constexpr const char* kModel = "model";
inline constexpr const char* kModelBytes = "model_bytes";
inline constexpr const char* kProcesses = "processes";
inline constexpr const char* kMemoryLimit = "memory_limit_bytes";  // int or null
inline constexpr const char* kExitCode = "exit_code";              // int or null
inline constexpr const char* kTermSignal = "term_signal";          // int or null
inline constexpr const char* kTrace = "trace";      // "on", "off", or "off: <reason>"
inline constexpr const char* kMetrics = "metrics";  // {metric name: number}
inline constexpr const char* kFleet = "fleet";      // [{pid, <metric>: number...}] (processes > 1)
inline constexpr const char* kWarnings = "warnings";  // [string]
inline constexpr const char* kRaw = "raw";            // [paths relative to the run folder]

enum class Status { kOk, kFailed, kOomKilled, kTimeout };
const char* to_string(Status s);

struct Row {
  std::string run_id;
  std::string strategy, pattern, cache;
  int rep = 1;
  Status status = Status::kOk;
  std::optional<std::string> error;
  std::string started_at;
  double wall_s = 0;
  std::string model;
  std::uint64_t model_bytes = 0;
  int processes = 1;
  std::optional<std::uint64_t> memory_limit_bytes;
  std::optional<int> exit_code, term_signal;
  std::string trace = "off";
  std::map<std::string, double> metrics;
  std::vector<std::map<std::string, double>> fleet;
  std::vector<std::string> warnings;
  std::vector<std::string> raw;

  std::string cell() const;  // load/<strategy>/<pattern>/<cache>
};

nlohmann::json to_json(const Row& row);

// Every problem with a row, empty when it is valid: missing or mistyped
// fields, unknown status, a version other than kSchemaVersion, metric names
// that are not snake_case, an ok row without ready_ms (or fleet_pss_bytes
// when processes > 1), a non-ok row without an error.
std::vector<std::string> validate(const nlohmann::json& row);

// The (cell, rep) key of a row: "<cell>#<rep>" (matches harness::Cell::key()).
std::string row_key(const nlohmann::json& row);

}  // namespace faultline::harness::runs
