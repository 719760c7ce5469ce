#include "harness/runs_schema.h"

#include <fmt/format.h>

#include "benchmarks/metrics.h"

namespace faultline::harness::runs {
namespace {

bool snake_case(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

const char* to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kFailed:
      return "failed";
    case Status::kOomKilled:
      return "oom_killed";
    case Status::kTimeout:
      return "timeout";
  }
  return "failed";
}

std::string Row::cell() const {
  return fmt::format("load/{}/{}/{}", strategy, pattern, cache);
}

nlohmann::json to_json(const Row& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : r.metrics) metrics[k] = v;
  nlohmann::json fleet = nlohmann::json::array();
  for (const auto& p : r.fleet) {
    nlohmann::json e = nlohmann::json::object();
    for (const auto& [k, v] : p) e[k] = v;
    fleet.push_back(e);
  }
  return {
      {kVersion, kSchemaVersion},
      {kRunId, r.run_id},
      {kCell, r.cell()},
      {kStrategy, r.strategy},
      {kPattern, r.pattern},
      {kCache, r.cache},
      {kRep, r.rep},
      {kStatus, to_string(r.status)},
      {kError, or_null(r.error)},
      {kStartedAt, r.started_at},
      {kWallS, r.wall_s},
      {kModel, r.model},
      {kModelBytes, r.model_bytes},
      {kProcesses, r.processes},
      {kMemoryLimit, or_null(r.memory_limit_bytes)},
      {kExitCode, or_null(r.exit_code)},
      {kTermSignal, or_null(r.term_signal)},
      {kTrace, r.trace},
      {kMetrics, metrics},
      {kFleet, fleet},
      {kWarnings, r.warnings},
      {kRaw, r.raw},
  };
}

std::vector<std::string> validate(const nlohmann::json& row) {
  std::vector<std::string> errors;
  if (!row.is_object()) return {"row is not a JSON object"};
  auto need = [&](const char* key, auto pred, const char* what) {
    if (!row.contains(key))
      errors.push_back(fmt::format("missing field \"{}\"", key));
    else if (!pred(row[key]))
      errors.push_back(fmt::format("field \"{}\" must be {}", key, what));
  };
  auto str = [](const nlohmann::json& v) { return v.is_string(); };
  auto nonempty = [](const nlohmann::json& v) {
    return v.is_string() && !v.get<std::string>().empty();
  };
  auto uint = [](const nlohmann::json& v) { return v.is_number_unsigned(); };
  auto pos_int = [](const nlohmann::json& v) {
    return v.is_number_integer() && v.get<std::int64_t>() >= 1;
  };
  auto num = [](const nlohmann::json& v) { return v.is_number(); };
  auto int_or_null = [](const nlohmann::json& v) { return v.is_null() || v.is_number_integer(); };
  auto uint_or_null = [](const nlohmann::json& v) { return v.is_null() || v.is_number_unsigned(); };
  auto str_or_null = [](const nlohmann::json& v) { return v.is_null() || v.is_string(); };
  auto strings = [](const nlohmann::json& v) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_string()) return false;
    return true;
  };
  auto metric_map = [](const nlohmann::json& v) {
    if (!v.is_object()) return false;
    for (const auto& [k, x] : v.items())
      if (!snake_case(k) || !x.is_number()) return false;
    return true;
  };
  auto fleet = [&](const nlohmann::json& v) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!metric_map(e)) return false;
    return true;
  };
  need(
      kVersion, [](const nlohmann::json& v) { return v == kSchemaVersion; },
      "the integer 1 (this reader knows schema version 1)");
  need(kRunId, nonempty, "a non-empty string");
  need(kCell, nonempty, "a non-empty string");
  need(kStrategy, nonempty, "a non-empty string");
  need(kPattern, nonempty, "a non-empty string");
  need(
      kCache, [](const nlohmann::json& v) { return v == "cold" || v == "warm"; },
      "\"cold\" or \"warm\"");
  need(kRep, pos_int, "an integer >= 1");
  need(
      kStatus,
      [](const nlohmann::json& v) {
        return v == "ok" || v == "failed" || v == "oom_killed" || v == "timeout";
      },
      "one of ok, failed, oom_killed, timeout");
  need(kError, str_or_null, "a string or null");
  need(kStartedAt, nonempty, "a non-empty string");
  need(kWallS, num, "a number");
  need(kModel, nonempty, "a non-empty string");
  need(kModelBytes, uint, "a non-negative integer");
  need(kProcesses, pos_int, "an integer >= 1");
  need(kMemoryLimit, uint_or_null, "a non-negative integer or null");
  need(kExitCode, int_or_null, "an integer or null");
  need(kTermSignal, int_or_null, "an integer or null");
  need(kTrace, str, "a string");
  need(kMetrics, metric_map, "an object of snake_case metric names to numbers");
  need(kFleet, fleet, "an array of objects of snake_case metric names to numbers");
  need(kWarnings, strings, "an array of strings");
  need(kRaw, strings, "an array of strings");
  if (!errors.empty()) return errors;

  if (row[kCell] != fmt::format("load/{}/{}/{}", row[kStrategy].get<std::string>(),
                                row[kPattern].get<std::string>(), row[kCache].get<std::string>()))
    errors.push_back("field \"cell\" must be load/<strategy>/<pattern>/<cache>");
  const bool ok = row[kStatus] == "ok";
  if (ok && !row[kError].is_null()) errors.push_back("an ok row has error null");
  if (!ok && !row[kError].is_string()) errors.push_back("a row that is not ok names its error");
  if (ok) {
    const auto& m = row[kMetrics];
    if (row[kProcesses] == 1 && !m.contains(std::string(metric::kReadyMs)))
      errors.push_back("an ok row has metrics.ready_ms");
    if (row[kProcesses].get<int>() > 1) {
      if (!m.contains(std::string(metric::kFleetPssBytes)))
        errors.push_back("an ok fleet row has metrics.fleet_pss_bytes");
      if (row[kFleet].size() != row[kProcesses].get<std::size_t>())
        errors.push_back("an ok fleet row has one fleet entry per process");
    }
  }
  return errors;
}

std::string row_key(const nlohmann::json& row) {
  return fmt::format("{}#{}", row.at(kCell).get<std::string>(), row.at(kRep).get<int>());
}

}  // namespace faultline::harness::runs
