#include "harness/doctor_verdicts.h"

#include <fmt/format.h>

#include "schema/metrics.h"

namespace faultline::harness {
namespace {

const std::string* failed_family_of(const std::map<std::string, std::string>& failed,
                                    const std::string& metric_name) {
  const metric::Info* info = metric::find(metric_name);
  if (!info) return nullptr;
  auto it = failed.find(std::string(info->family));
  return it == failed.end() ? nullptr : &it->first;
}

}  // namespace

std::map<std::string, std::string> failed_families(const nlohmann::json& doctor) {
  std::map<std::string, std::string> out;
  if (!doctor.is_object() || !doctor.contains("families") || !doctor["families"].is_object())
    return out;
  for (const auto& [family, v] : doctor["families"].items()) {
    if (!v.is_object() || v.value("verdict", nlohmann::json()) != "fail") continue;
    const auto& reason = v.value("reason", nlohmann::json());
    out[family] = reason.is_string() && !reason.get<std::string>().empty()
                      ? reason.get<std::string>()
                      : std::string("no reason given");
  }
  return out;
}

std::string doctor_reason(const std::string& family, const std::string& reason) {
  return fmt::format("faultline doctor: {} failed its known-answer check on this kernel: {}",
                     family, reason);
}

int apply_doctor_verdicts(const std::map<std::string, std::string>& failed, runs::Row& row) {
  if (failed.empty()) return 0;
  int moved = 0;
  auto move_out = [&](std::map<std::string, double>& metrics) {
    for (auto it = metrics.begin(); it != metrics.end();) {
      const std::string* family = failed_family_of(failed, it->first);
      if (!family) {
        ++it;
        continue;
      }
      // The doctor's reason replaces any other: it is why this metric is no evidence here.
      row.not_measured[it->first] = doctor_reason(*family, failed.at(*family));
      it = metrics.erase(it);
      ++moved;
    }
  };
  move_out(row.metrics);
  for (auto& entry : row.fleet) move_out(entry);
  return moved;
}

}  // namespace faultline::harness
