#include "harness/plan.h"

#include "common/split_list.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "benchmarks/access_pattern.h"
#include "benchmarks/measure.h"
#include "benchmarks/strategy.h"
#include "common/duration.h"
#include "common/size.h"
#include "datasets/model_layout.h"
#include "harness/json_number.h"

namespace faultline::harness {
namespace {

// The one range check of reps and processes, for flags, plan files and a
// stored plan.json alike (`prefix`: "--" or "plan.json: ").
void check_counts(const Plan& plan, const std::string& prefix) {
  if (plan.reps < 1 || plan.reps > kMaxReps)
    throw std::invalid_argument(
        fmt::format("{}reps {}: must be 1..{}", prefix, plan.reps, kMaxReps));
  if (plan.traced_reps < 0 || plan.traced_reps > kMaxReps)
    throw std::invalid_argument(fmt::format("{}{} {}: must be 0..{}", prefix,
                                            prefix == "--" ? "traced-reps" : "traced_reps",
                                            plan.traced_reps, kMaxReps));
  if (plan.processes < 1 || plan.processes > kMaxProcesses)
    throw std::invalid_argument(
        fmt::format("{}processes {}: must be 1..{}", prefix, plan.processes, kMaxProcesses));
}

const std::vector<std::string> kLlamaModes = {"llama.cpp", "llama.cpp:no-mmap", "llama.cpp:mlock",
                                              "llama.cpp:numa", "llama.cpp:direct"};

constexpr const char* kUpFrontReason =
    "these strategies load everything up front (read, pread, direct and uring into memory; mmap "
    "with populate, advise=populate_read or a hard mlock): an access pattern beyond none and "
    "forward touches pages already there and measures the same load again";

// Fills plan.dropped from its strategies and (concrete) patterns.
void drop_cells_that_cannot_differ(Plan& plan) {
  if (!plan.only_cells_that_differ) return;  // (a plan.json read back keeps its own)
  plan.dropped.clear();
  DroppedCells up_front{kUpFrontReason, {}};
  for (const auto& s : plan.strategies) {
    if (!loads_everything_up_front(parse_strategy(s))) continue;
    for (const auto& p : plan.patterns) {
      if (p == "none" || p == "forward") continue;
      for (const auto& c : plan.caches) up_front.cells.push_back(Cell{s, p, c}.name());
    }
  }
  if (!up_front.cells.empty()) plan.dropped.push_back(std::move(up_front));
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

const std::vector<PresetInfo>& plan_presets() {
  static const std::vector<PresetInfo> kPresets = {
      {"quick", "1 GiB generated model, core strategies + llama.cpp modes, 3 reps", "1G",
       concat({"read", "mmap:private", "mmap:private,populate", "mmap:private,advise=willneed",
               "mmap:private,advise=random", "mmap:private,advise=populate_read"},
              kLlamaModes),
       "none,forward", 3},
      {"standard",
       "4 GiB generated model, every strategy and pattern but the cells that cannot differ "
       "(patterns beyond none and forward of strategies that load everything up front), 5 reps",
       "4G", default_strategy_specs(), "all", 5, true},
      {"seed",
       "10 GiB model: traditional read vs mmap variants, startup latency and RSS",
       "10G",
       {"read", "pread:threads=4", "mmap:private", "mmap:shared", "mmap:private,populate",
        "mmap:private,advise=willneed", "mmap:private,advise=random",
        "mmap:private,advise=populate_read", "llama.cpp"},
       "none,forward",
       3},
      {"llama.cpp", "llama.cpp's load modes only, 1 GiB model, 3 reps", "1G", kLlamaModes,
       "none,forward", 3},
      {"full", "everything: every strategy x every pattern, 4 GiB, 5 reps", "4G",
       default_strategy_specs(), "all", 5},
  };
  return kPresets;
}

std::string preset_names() {
  std::string out;
  for (const auto& p : plan_presets()) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

std::string Cell::name() const {
  return fmt::format("load/{}/{}/{}", strategy, pattern, cache);
}
std::string Cell::key() const {
  return fmt::format("{}#{}", name(), rep);
}

std::vector<Cell> Plan::cells() const {
  std::set<std::string> drop;
  for (const auto& d : dropped) drop.insert(d.cells.begin(), d.cells.end());
  std::vector<Cell> out;
  for (int rep = 1; rep <= reps + traced_reps; ++rep) {
    for (const auto& s : strategies)
      for (const auto& p : patterns)
        for (const auto& c : caches) {
          Cell cell{s, p, c, rep, rep > reps};
          if (!drop.count(cell.name())) out.push_back(std::move(cell));
        }
    for (const auto& program : commands)
      for (const char* pattern : {kProgramPattern, kBaselinePattern}) {
        if (pattern == std::string(kBaselinePattern) && program.baseline.empty()) continue;
        for (const auto& c : caches)
          out.push_back(Cell{program.strategy(), pattern, c, rep, rep > reps});
      }
  }
  return out;
}

const ProgramCommand* Plan::command_of(const std::string& strategy) const {
  for (const auto& p : commands)
    if (p.strategy() == strategy) return &p;
  return nullptr;
}

std::vector<std::string> dropped_summary(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& d : plan.dropped) {
    std::set<std::string> seen;
    std::vector<std::string> strategies, patterns;
    for (const auto& s : plan.strategies)
      for (const auto& p : plan.patterns)
        for (const auto& c : plan.caches)
          if (std::find(d.cells.begin(), d.cells.end(), Cell{s, p, c}.name()) != d.cells.end()) {
            if (seen.insert("s" + s).second) strategies.push_back(s);
            if (seen.insert("p" + p).second) patterns.push_back(p);
          }
    out.push_back(fmt::format("dropped {} cells ({} × {}): {}", d.cells.size(),
                              fmt::join(strategies, ", "), fmt::join(patterns, ", "), d.reason));
  }
  return out;
}

Plan resolve_plan(const PlanRequest& r, int numa_nodes) {
  Plan plan;
  const PresetInfo* preset = nullptr;
  std::string preset_name = r.preset.empty() ? (r.strategies.empty() ? "quick" : "") : r.preset;
  if (!preset_name.empty()) {
    for (const auto& p : plan_presets())
      if (p.name == preset_name) preset = &p;
    if (!preset)
      throw std::invalid_argument(
          fmt::format("unknown preset '{}'; valid: {}", preset_name, preset_names()));
  }
  plan.preset = preset ? preset->name : "custom";

  // Strategies: canonical specs. No strategy is NUMA-specific yet: llama.cpp:numa
  // is what llama.cpp --numa does on Linux (no prefetch, MADV_RANDOM), which
  // applies on one node as on many; a strategy that binds memory to nodes
  // would be planned here only when numa_nodes > 1.
  (void)numa_nodes;
  if (!r.strategies.empty()) {
    for (const auto& s : parse_strategy_list(r.strategies)) plan.strategies.push_back(to_string(s));
  } else {
    for (const auto& spec : preset->strategies)
      plan.strategies.push_back(to_string(parse_strategy(spec)));
  }
  if (plan.strategies.empty()) throw std::invalid_argument("no strategies to run");

  std::string patterns = !r.patterns.empty() ? r.patterns
                         : preset            ? preset->patterns
                                             : "none,forward";
  if (patterns == "all")
    plan.patterns = {"all"};
  else
    for (const auto& p : parse_pattern_list(patterns)) plan.patterns.push_back(to_string(p));
  // The preset's rule holds for the preset's patterns; patterns asked for run.
  plan.only_cells_that_differ = preset && preset->only_cells_that_differ && r.patterns.empty();

  // Named, not a temporary: split_list() returns views into it, and a range-for
  // does not extend a temporary inside its range expression (found by fuzz_plan).
  const std::string caches = r.caches.empty() ? "cold,warm" : r.caches;
  for (auto c : split_list(caches)) plan.caches.push_back(to_string(parse_cache_state(c)));
  if (plan.caches.empty()) throw std::invalid_argument("--cache: no cache state given");

  plan.reps = r.reps.value_or(preset ? preset->reps : 3);
  // No tracer, no traced repetitions.
  plan.traced_reps = r.trace ? r.traced_reps.value_or(1) : 0;
  plan.processes = r.processes.value_or(1);
  check_counts(plan, "--");
  if (!r.memory_limit.empty()) {
    try {
      plan.memory_limit_bytes = parse_size(r.memory_limit, false);
    } catch (const std::exception& e) {
      throw std::invalid_argument(fmt::format("--memory-limit: {}", e.what()));
    }
    if (*plan.memory_limit_bytes < (4u << 20))
      throw std::invalid_argument(
          fmt::format("--memory-limit {}: below 4 MiB nothing can start", r.memory_limit));
  }
  std::string size = !r.size.empty() ? r.size : preset ? preset->size : "1G";
  if (r.model.empty()) {
    try {
      plan.default_model_bytes = parse_size(size, false);
    } catch (const std::exception& e) {
      throw std::invalid_argument(fmt::format("--size: {}", e.what()));
    }
  } else {
    std::error_code ec;
    auto st = std::filesystem::status(r.model, ec);
    if (ec || !std::filesystem::exists(st))
      throw std::invalid_argument(fmt::format("model file {} does not exist", r.model));
    if (!std::filesystem::is_regular_file(st))
      throw std::invalid_argument(fmt::format("model {} is not a regular file", r.model));
    plan.model = std::filesystem::absolute(r.model).lexically_normal().string();
  }
  plan.drop_caches = r.drop_caches;
  plan.trace = r.trace;
  plan.seed = r.seed;
  plan.cell_timeout_s = checked_seconds(r.cell_timeout_s, "cell timeout");  // plan files too
  plan.commands = resolve_programs(r.programs, plan.fidelity);
  if (plan.patterns != std::vector<std::string>{"all"}) drop_cells_that_cannot_differ(plan);
  return plan;
}

void bind_model(Plan& plan, const std::string& model_path) {
  plan.model = std::filesystem::absolute(model_path).lexically_normal().string();
  ModelLayout layout;
  try {
    layout = load_layout(plan.model);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("model {}: {}", plan.model, e.what()));
  }
  plan.model_bytes = layout.file_size;
  if (plan.patterns == std::vector<std::string>{"all"}) {
    plan.patterns.clear();
    for (const auto& p : default_patterns(layout)) plan.patterns.push_back(to_string(p));
  }
  drop_cells_that_cannot_differ(plan);
  for (const auto& p : plan.patterns) {
    try {
      plan_ranges(parse_pattern(p), layout, plan.seed);
    } catch (const std::exception& e) {
      throw std::invalid_argument(
          fmt::format("pattern {} does not fit {}: {}", p, plan.model, e.what()));
    }
  }
}

nlohmann::json to_json(const Plan& p) {
  nlohmann::json j = {
      {"plan_version", 1},
      {"preset", p.preset},
      {"model", p.model},
      {"model_bytes", p.model_bytes},
      {"default_model_bytes", p.default_model_bytes},
      {"strategies", p.strategies},
      {"patterns", p.patterns},
      {"caches", p.caches},
      {"skipped", p.skipped},
      {"dropped", nlohmann::json::array()},
      {"reps", p.reps},
      {"traced_reps", p.traced_reps},
      {"memory_limit_bytes", nullptr},
      {"processes", p.processes},
      {"drop_caches", p.drop_caches},
      {"trace", p.trace},
      {"seed", p.seed},
      {"cell_timeout_s", p.cell_timeout_s},
      {"cells", p.cells().size()},
  };
  for (const auto& d : p.dropped)
    j["dropped"].push_back({{"reason", d.reason}, {"cells", d.cells}});
  if (p.memory_limit_bytes) j["memory_limit_bytes"] = *p.memory_limit_bytes;
  j["commands"] = nlohmann::json::array();
  for (const auto& c : p.commands) {
    nlohmann::json baseline = nullptr;
    if (!c.baseline.empty())
      baseline = {{"argv", with_model(c.baseline, c.baseline_model)},
                  {"template", c.baseline},
                  {"model", c.baseline_model}};
    j["commands"].push_back({{"name", c.name},
                             {"argv", with_model(c.argv, p.model)},
                             {"template", c.argv},
                             {"ready", c.ready ? nlohmann::json(*c.ready) : nlohmann::json()},
                             {"baseline", baseline}});
  }
  j["fidelity"] = p.fidelity;
  return j;
}

Plan plan_from_json(const nlohmann::json& j) {
  try {
    Plan p;
    if (whole_number<int>(j, "plan_version") != 1)
      throw std::invalid_argument("unsupported plan_version");
    p.preset = j.at("preset").get<std::string>();
    p.model = j.at("model").get<std::string>();
    p.model_bytes = whole_number<std::uint64_t>(j, "model_bytes");
    if (j.contains("default_model_bytes"))
      p.default_model_bytes = whole_number<std::uint64_t>(j, "default_model_bytes");
    p.strategies = j.at("strategies").get<std::vector<std::string>>();
    p.patterns = j.at("patterns").get<std::vector<std::string>>();
    p.caches = j.at("caches").get<std::vector<std::string>>();
    p.skipped = j.value("skipped", std::vector<std::string>{});
    if (j.contains("dropped") && !j.at("dropped").is_array())
      throw std::invalid_argument("\"dropped\" must be a list");
    if (j.contains("dropped"))
      for (const auto& d : j.at("dropped"))
        p.dropped.push_back(
            {d.at("reason").get<std::string>(), d.at("cells").get<std::vector<std::string>>()});
    p.reps = whole_number<int>(j, "reps");
    // Plans written before traced repetitions existed traced every repetition.
    p.traced_reps = j.contains("traced_reps") ? whole_number<int>(j, "traced_reps") : 0;
    if (!j.at("memory_limit_bytes").is_null())
      p.memory_limit_bytes = whole_number<std::uint64_t>(j, "memory_limit_bytes");
    p.processes = whole_number<int>(j, "processes");
    p.drop_caches = j.at("drop_caches").get<bool>();
    p.trace = j.at("trace").get<bool>();
    p.seed = whole_number<std::uint64_t>(j, "seed");
    p.cell_timeout_s = j.value("cell_timeout_s", 1800.0);
    for (const auto& c : j.value("commands", nlohmann::json::array())) {
      ProgramCommand cmd;
      cmd.name = c.at("name").get<std::string>();
      cmd.argv = c.at("template").get<std::vector<std::string>>();
      if (!c.at("ready").is_null()) cmd.ready = c.at("ready").get<std::string>();
      if (!c.at("baseline").is_null()) {
        cmd.baseline = c.at("baseline").at("template").get<std::vector<std::string>>();
        cmd.baseline_model = c.at("baseline").at("model").get<std::string>();
      }
      p.commands.push_back(std::move(cmd));
    }
    p.fidelity = j.value("fidelity", std::map<std::string, std::string>{});
    check_counts(p, "");
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("plan.json: {}", e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("plan.json: {}", e.what()));
  }
}

}  // namespace faultline::harness
