#include "harness/bench_json.h"

#include <fstream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace faultline::harness {

std::string exact_filter(const std::string& cell_name) {
  std::string out = "^";
  for (char c : cell_name) {
    if (std::string_view(".[]{}()\\*+?^$|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out + "(/|$)";
}

BenchResult read_bench_json(const std::string& path, const std::string& cell_name) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("faultline-bench wrote no JSON ({})", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("faultline-bench JSON {}: {}", path, e.what()));
  }
  if (!j.is_object() || j.value("tool", "") != "faultline-bench" || !j.contains("cells") ||
      !j["cells"].is_array())
    throw std::runtime_error(fmt::format("{}: not faultline-bench --json output", path));
  for (const auto& c : j["cells"]) {
    if (!c.is_object() || c.value("cell", "") != cell_name) continue;
    BenchResult r;
    try {
      if (c.contains("error") && c["error"].is_string()) r.error = c["error"].get<std::string>();
      for (const auto& [k, v] : c.at("metrics").items())
        if (v.is_number()) r.metrics[k] = v.get<double>();
      for (const auto& [k, v] : c.at("not_measured").items())
        if (v.is_string()) r.availability.not_measured_because(k, v.get<std::string>());
      for (const auto& p : c.at("probes"))
        if (p.is_string()) r.availability.add_probe(p.get<std::string>());
      for (const auto& w : c.at("warnings"))
        if (w.is_string()) r.warnings.push_back(w.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("{}: cell {}: {}", path, cell_name, e.what()));
    }
    return r;
  }
  throw std::runtime_error(
      fmt::format("faultline-bench JSON {}: no cell named {}", path, cell_name));
}

}  // namespace faultline::harness
