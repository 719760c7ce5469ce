// `faultline run --plan FILE`: the JSON plan file, checked key by key. Every
// key must be known and every value of its type and parseable (a strategy
// that parses, a size with a unit, a count in range); a bad value is an error
// naming the file, the key and what was expected, before anything runs.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

#include "benchmarks/access_pattern.h"
#include "benchmarks/measure.h"
#include "benchmarks/strategy.h"
#include "common/size.h"
#include "common/split_list.h"
#include "harness/json_number.h"
#include "harness/plan.h"

namespace faultline::harness {
namespace {

constexpr double kMaxCellTimeoutS = 7 * 86400;

struct Key {
  const char* name;
  const char* expected;
};
// Every key, with what its value must be.
constexpr Key kKeys[] = {
    {"preset", "a preset name"},
    {"model", "a path"},
    {"size", "a size with a unit (\"4G\")"},
    {"strategies", "strategy specs (a comma list or a list of strings)"},
    {"patterns", "access patterns or \"all\" (a comma list or a list of strings)"},
    {"caches", "cold, warm or both (a comma list or a list of strings)"},
    {"cache", "the same as caches"},
    {"memory_limit", "a size with a unit (\"2G\")"},
    {"reps", "a whole number 1..1000"},
    {"traced_reps", "a whole number 0..1000"},
    {"processes", "a whole number 1..256"},
    {"seed", "a whole number 0..18446744073709551615"},
    {"drop_caches", "true or false"},
    {"cell_timeout_s", "seconds, a number above 0 and at most 604800"},
    {"commands", "programs as cells: a list of \"NAME=PROGRAM ARG… {model} …\" strings"},
    {"command_baselines", "a list of \"NAME=PROGRAM ARG… {model} …\" strings, NAME a command's"},
    {"ready", "a regex for every command, or a list of \"NAME=REGEX\" / regex strings"},
    {"fidelity", "a list of \"cmd:NAME=PRESET\" strings"},
};

class PlanFile {
 public:
  PlanFile(std::string path, nlohmann::json j) : path_(std::move(path)), j_(std::move(j)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    std::string expected;
    for (const auto& k : kKeys)
      if (key == k.name) expected = k.expected;
    throw std::invalid_argument(
        fmt::format("plan file {}: \"{}\" {}{}", path_, key, why,
                    expected.empty() ? "" : " (expected " + expected + ")"));
  }
  bool has(const char* key) const { return j_.contains(key); }
  const nlohmann::json& at(const char* key) const { return j_.at(key); }

  void check_keys() const {
    std::string valid;
    for (const auto& k : kKeys) valid += std::string(valid.empty() ? "" : ", ") + k.name;
    for (const auto& [key, _] : j_.items()) {
      bool known = false;
      for (const auto& k : kKeys) known = known || key == k.name;
      if (!known)
        throw std::invalid_argument(
            fmt::format("plan file {}: unknown key \"{}\" (valid: {})", path_, key, valid));
    }
  }

  // A string; with `lists`, also a list of strings joined by commas.
  std::string text(const char* key, bool lists) const {
    const auto& v = at(key);
    if (v.is_string()) return v.get<std::string>();
    if (lists && v.is_array()) {
      std::string out;
      for (const auto& item : v) {
        if (!item.is_string()) fail(key, fmt::format("holds {}, not a string", item.dump()));
        out += (out.empty() ? "" : ",") + item.get<std::string>();
      }
      return out;
    }
    fail(key, fmt::format("is {}, not {}", v.dump(),
                          lists ? "a string or a list of strings" : "a string"));
  }

  template <class T>
  T count(const char* key, T lo, T hi) const {
    T n{};
    try {
      n = whole_number<T>(j_, key);
    } catch (const std::invalid_argument&) {
      fail(key, fmt::format("is {}, not a whole number", at(key).dump()));
    }
    if (n < lo || n > hi) fail(key, fmt::format("is {}, out of range", n));
    return n;
  }

  // Runs `parse` on the value; its error becomes one naming the file and key.
  template <class F>
  void parses(const char* key, const std::string& value, F&& parse) const {
    try {
      parse(value);
    } catch (const std::invalid_argument& e) {
      fail(key, fmt::format("\"{}\" does not parse: {}", value, e.what()));
    }
  }

 private:
  std::string path_;
  nlohmann::json j_;
};

}  // namespace

void PlanRequest::merge_plan_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(fmt::format("plan file {}: cannot open it", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("plan file {}: not valid JSON: {}", path, e.what()));
  }
  if (!j.is_object()) throw std::invalid_argument(fmt::format("plan file {}: not an object", path));
  const PlanFile f(path, std::move(j));
  f.check_keys();

  // Every value is checked, also those a flag overrides: a bad file is bad.
  auto take = [&](const char* key, bool lists, std::string& field, auto&& parse) {
    if (!f.has(key)) return;
    std::string v = f.text(key, lists);
    if (v.empty()) f.fail(key, "is empty");
    f.parses(key, v, parse);
    if (field.empty()) field = v;
  };
  auto any = [](const std::string&) {};
  auto size_ok = [](const std::string& v) { parse_size(v, false); };
  take("preset", false, preset, [](const std::string& v) {
    for (const auto& p : plan_presets())
      if (p.name == v) return;
    throw std::invalid_argument(fmt::format("unknown preset; valid: {}", preset_names()));
  });
  take("model", false, model, any);
  take("size", false, size, size_ok);
  take("strategies", true, strategies, [](const std::string& v) { parse_strategy_list(v); });
  take("patterns", true, patterns, [](const std::string& v) {
    if (v != "all") parse_pattern_list(v);
  });
  auto caches_ok = [](const std::string& v) {
    for (auto c : split_list(v)) parse_cache_state(c);
  };
  take("caches", true, caches, caches_ok);
  take("cache", true, caches, caches_ok);
  take("memory_limit", false, memory_limit, size_ok);

  auto count = [&](const char* key, int lo, int hi, std::optional<int>& field) {
    if (!f.has(key)) return;
    int n = f.count<int>(key, lo, hi);
    if (!field) field = n;
  };
  count("reps", 1, kMaxReps, reps);
  count("traced_reps", 0, kMaxReps, traced_reps);
  count("processes", 1, kMaxProcesses, processes);
  if (f.has("seed")) seed = f.count<std::uint64_t>("seed", 0, UINT64_MAX);
  if (f.has("drop_caches")) {
    if (!f.at("drop_caches").is_boolean())
      f.fail("drop_caches", fmt::format("is {}, not a boolean", f.at("drop_caches").dump()));
    drop_caches = drop_caches || f.at("drop_caches").get<bool>();
  }
  // Programs: lists of strings, each checked as its flag is (the programs'
  // lookup in PATH and the cross-references come with the flags' in resolve_plan).
  auto strings = [&](const char* key, std::vector<std::string>& field, auto&& check) {
    if (!f.has(key)) return;
    const auto& v = f.at(key);
    std::vector<std::string> items;
    if (v.is_string() && std::string(key) == "ready") {
      items.push_back(v.get<std::string>());
    } else {
      if (!v.is_array()) f.fail(key, fmt::format("is {}, not a list of strings", v.dump()));
      for (const auto& item : v) {
        if (!item.is_string()) f.fail(key, fmt::format("holds {}, not a string", item.dump()));
        items.push_back(item.get<std::string>());
      }
    }
    for (const auto& item : items) {
      if (item.empty()) f.fail(key, "holds an empty string");
      f.parses(key, item, check);
    }
    if (field.empty()) field = items;
  };
  auto named_command = [](const std::string& v) {
    split_command_line(split_named(v, "command").second, "command");
  };
  strings("commands", programs.commands, named_command);
  strings("command_baselines", programs.baselines, named_command);
  strings("ready", programs.ready, any);
  strings("fidelity", programs.fidelity, [](const std::string& v) {
    if (!v.starts_with("cmd:") || v.find('=') == std::string::npos)
      throw std::invalid_argument("not cmd:NAME=PRESET");
    parse_strategy(v.substr(v.find('=') + 1));
  });
  if (f.has("cell_timeout_s")) {
    const auto& v = f.at("cell_timeout_s");
    if (!v.is_number()) f.fail("cell_timeout_s", fmt::format("is {}, not a number", v.dump()));
    const double s = v.get<double>();
    if (!std::isfinite(s) || s <= 0 || s > kMaxCellTimeoutS)
      f.fail("cell_timeout_s", fmt::format("is {}, out of range", v.dump()));
    cell_timeout_s = s;
  }
}

}  // namespace faultline::harness
