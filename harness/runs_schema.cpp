#include "harness/runs_schema.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "schema/metrics.h"

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

// An integer that fits int64 (as Python's validator sees integers).
bool int64_value(const nlohmann::json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return false;
    out = std::int64_t(v.get<std::uint64_t>());
    return true;
  }
  if (!v.is_number_integer()) return false;
  out = v.get<std::int64_t>();
  return true;
}

std::string one_of(const auto& names) {
  std::vector<std::string> v(std::begin(names), std::end(names));
  return fmt::format("one of {}", fmt::join(v, ", "));
}

bool known(const auto& names, const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const auto s = v.get<std::string>();
  return std::find(std::begin(names), std::end(names), s) != std::end(names);
}

bool metric_map(const nlohmann::json& v) {
  if (!v.is_object()) return false;
  for (const auto& [k, x] : v.items())
    if (!snake_case(k) || !x.is_number()) return false;
  return true;
}

// The validator's vocabulary (results/schema.json "type"): whether `v` is
// one, and what a value of the type must be (for messages).
bool type_ok(std::string_view type, const nlohmann::json& v) {
  std::int64_t i = 0;
  if (type == "version") return int64_value(v, i);  // the value itself is checked first
  if (type == "nonempty_string") return v.is_string() && !v.get<std::string>().empty();
  if (type == "string") return v.is_string();
  if (type == "cache") return known(kCaches, v);
  if (type == "status") return known(kStatuses, v);
  if (type == "int_ge1") return int64_value(v, i) && i >= 1;
  if (type == "uint") return v.is_number_unsigned() || (int64_value(v, i) && i >= 0);
  if (type == "number") return v.is_number();
  if (type == "bool") return v.is_boolean();
  if (type == "string_or_null") return v.is_null() || v.is_string();
  if (type == "int_or_null") return v.is_null() || int64_value(v, i);
  if (type == "uint_or_null")
    return v.is_null() || v.is_number_unsigned() || (int64_value(v, i) && i >= 0);
  if (type == "strings")
    return v.is_array() && std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); });
  if (type == "metrics") return metric_map(v);
  if (type == "fleet")
    return v.is_array() && std::all_of(v.begin(), v.end(), [](auto& e) { return metric_map(e); });
  if (type == "reasons") {
    if (!v.is_object()) return false;
    for (const auto& [k, x] : v.items())
      if (!snake_case(k) || !x.is_string() || x.get<std::string>().empty()) return false;
    return true;
  }
  return false;
}

std::string type_what(std::string_view type) {
  if (type == "nonempty_string") return "a non-empty string";
  if (type == "string") return "a string";
  if (type == "cache") return one_of(kCaches);
  if (type == "status") return one_of(kStatuses);
  if (type == "int_ge1") return "an integer >= 1";
  if (type == "uint") return "a non-negative integer";
  if (type == "number") return "a number";
  if (type == "bool") return "true or false";
  if (type == "string_or_null") return "a string or null";
  if (type == "int_or_null") return "an integer or null";
  if (type == "uint_or_null") return "a non-negative integer or null";
  if (type == "strings") return "an array of strings";
  if (type == "metrics") return "an object of snake_case metric names to numbers";
  if (type == "fleet") return "an array of objects of snake_case metric names to numbers";
  if (type == "reasons") return "an object of snake_case metric names to non-empty strings";
  return "an integer";
}

std::string versions_text() {
  std::vector<int> v(std::begin(kReadableVersions), std::end(kReadableVersions));
  return fmt::format("{}", fmt::join(v, ", "));
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
  nlohmann::json not_measured = nlohmann::json::object();
  for (const auto& [k, v] : r.not_measured) not_measured[k] = v;
  nlohmann::json fleet = nlohmann::json::array();
  for (const auto& p : r.fleet) {
    nlohmann::json e = nlohmann::json::object();
    for (const auto& [k, v] : p) e[k] = v;
    fleet.push_back(e);
  }
  namespace f = field;
  nlohmann::json j = {
      {f::kSchemaVersion, kSchemaVersion},
      {f::kRunId, r.run_id},
      {f::kCell, r.cell()},
      {f::kStrategy, r.strategy},
      {f::kPattern, r.pattern},
      {f::kCache, r.cache},
      {f::kRep, r.rep},
      {f::kTraced, r.traced},
      {f::kStatus, to_string(r.status)},
      {f::kError, or_null(r.error)},
      {f::kStartedAt, r.started_at},
      {f::kWallS, r.wall_s},
      {f::kModel, r.model},
      {f::kModelBytes, r.model_bytes},
      {f::kProcesses, r.processes},
      {f::kMemoryLimitBytes, or_null(r.memory_limit_bytes)},
      {f::kExitCode, or_null(r.exit_code)},
      {f::kTermSignal, or_null(r.term_signal)},
      {f::kMetrics, metrics},
      {f::kNotMeasured, not_measured},
      {f::kProbes, r.probes},
      {f::kFleet, fleet},
      {f::kWarnings, r.warnings},
      {f::kRaw, r.raw},
  };
  if (!r.command.empty()) j[f::kCommand] = r.command;
  return j;
}

std::vector<std::string> validate(const nlohmann::json& row) {
  namespace f = field;
  if (!row.is_object()) return {"row is not a JSON object"};
  if (!row.contains(f::kSchemaVersion))
    return {fmt::format("missing field \"{}\"", f::kSchemaVersion)};
  std::int64_t version = 0;
  const auto& v = row[f::kSchemaVersion];
  if (!int64_value(v, version) ||
      std::find(std::begin(kReadableVersions), std::end(kReadableVersions), version) ==
          std::end(kReadableVersions))
    return {fmt::format(
        "unknown schema_version {} (this reader knows schema versions {}; a newer faultline "
        "wrote it?)",
        v.dump(), versions_text())};

  std::vector<std::string> errors;
  const unsigned bit = 1u << version;
  for (const auto& fi : kFields) {
    if (!(fi.versions & bit)) continue;
    const std::string name(fi.name);
    if (!row.contains(name)) {
      if (!fi.optional) errors.push_back(fmt::format("missing field \"{}\"", name));
    } else if (!type_ok(fi.type, row[name]))
      errors.push_back(fmt::format("field \"{}\" must be {}", name, type_what(fi.type)));
  }
  for (const auto& item : row.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture one
    const bool listed =
        std::any_of(std::begin(kFields), std::end(kFields),
                    [&](const FieldInfo& fi) { return fi.name == key && (fi.versions & bit); });
    if (!listed)
      errors.push_back(fmt::format("unknown field \"{}\" (schema version {})", key, version));
  }
  if (!errors.empty()) return errors;

  if (row[f::kCell] != fmt::format("load/{}/{}/{}", row[f::kStrategy].get<std::string>(),
                                   row[f::kPattern].get<std::string>(),
                                   row[f::kCache].get<std::string>()))
    errors.push_back("field \"cell\" must be load/<strategy>/<pattern>/<cache>");
  const bool ok = row[f::kStatus] == "ok";
  if (ok && !row[f::kError].is_null()) errors.push_back("an ok row has error null");
  if (!ok && !row[f::kError].is_string()) errors.push_back("a row that is not ok names its error");
  if (version >= 2) {
    auto check_names = [&](const nlohmann::json& obj, const char* where) {
      for (const auto& [k, x] : obj.items()) {
        (void)x;
        if (!metric::find(k))
          errors.push_back(
              fmt::format("{}: unknown metric \"{}\" (not in results/schema.json)", where, k));
      }
    };
    check_names(row[f::kMetrics], f::kMetrics);
    check_names(row[f::kNotMeasured], f::kNotMeasured);
    for (const auto& e : row[f::kFleet]) check_names(e, f::kFleet);
    for (const auto& [k, x] : row[f::kNotMeasured].items()) {
      (void)x;
      if (row[f::kMetrics].contains(k))
        errors.push_back(fmt::format("metric \"{}\" is both measured and not measured", k));
    }
  }
  if (ok) {
    const auto& m = row[f::kMetrics];
    const auto processes = row[f::kProcesses].get<std::int64_t>();
    if (processes == 1 && !m.contains(std::string(metric::kReadyMs)))
      errors.push_back("an ok row has metrics.ready_ms");
    if (processes > 1) {
      if (!m.contains(std::string(metric::kFleetPssBytes)))
        errors.push_back("an ok fleet row has metrics.fleet_pss_bytes");
      if (std::int64_t(row[f::kFleet].size()) != processes)
        errors.push_back("an ok fleet row has one fleet entry per process");
    }
  }
  return errors;
}

std::string row_key(const nlohmann::json& row) {
  return fmt::format("{}#{}", row.at(field::kCell).get<std::string>(),
                     row.at(field::kRep).get<int>());
}

}  // namespace faultline::harness::runs
