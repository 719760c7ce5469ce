#include "harness/bench_json.h"

#include <fstream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "schema/metrics.h"

namespace faultline::harness {
namespace {

bool is_metric(std::string_view name) {
  namespace m = metric;
  static constexpr std::string_view kKnown[] = {
      m::kReadyMs,      m::kFirstPassMs,  m::kTotalMs,      m::kGbps,       m::kRssBytes,
      m::kRssFileBytes, m::kRssAnonBytes, m::kPeakRssBytes, m::kPssBytes,   m::kMajorFaults,
      m::kMinorFaults,  m::kReadBytes,    m::kResidentPct,  m::kTaskClockMs};
  for (auto k : kKnown)
    if (k == name) return true;
  return name.rfind(m::kPerfPrefix, 0) == 0 || name.rfind("bpf_", 0) == 0;
}

}  // namespace

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
  if (!j.contains("benchmarks") || !j["benchmarks"].is_array())
    throw std::runtime_error(fmt::format("faultline-bench JSON {}: no benchmarks", path));
  for (const auto& b : j["benchmarks"]) {
    std::string name = b.value("name", "");
    if (name != cell_name && name.rfind(cell_name + "/", 0) != 0) continue;
    BenchResult r;
    if (b.value("error_occurred", false))
      r.error = b.value("error_message", std::string("faultline-bench reported an error"));
    r.label = b.value("label", "");
    for (const auto& [k, v] : b.items())
      if (v.is_number() && is_metric(k)) r.metrics[k] = v.get<double>();
    return r;
  }
  throw std::runtime_error(
      fmt::format("faultline-bench JSON {}: no benchmark named {}", path, cell_name));
}

}  // namespace faultline::harness
