// The doctor's report: one table for people, JSON for machines (the same
// "--json FILE" as faultline trace), and the per-family verdicts that
// `faultline run` stores in env.json.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "harness/doctor.h"

namespace faultline::harness {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kUnavailable:
      return "unavailable";
    case Verdict::kNotApplicable:
      return "not applicable";
  }
  return "?";
}

namespace {
std::string lower(const char* s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

bool DoctorReport::any_failed() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const Check& c) { return c.verdict == Verdict::kFail; });
}

nlohmann::json DoctorReport::families() const {
  std::map<std::string, std::vector<const Check*>> by;
  for (const auto& c : checks) by[c.family].push_back(&c);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [family, list] : by) {
    const Check* failed = nullptr;
    const Check* passed = nullptr;
    const Check* other = nullptr;
    for (const Check* c : list) {
      if (c->verdict == Verdict::kFail && !failed) failed = c;
      if (c->verdict == Verdict::kPass && !passed) passed = c;
      if (c->verdict != Verdict::kPass && c->verdict != Verdict::kFail && !other) other = c;
    }
    nlohmann::json f;
    if (failed) {
      f = {{"verdict", "fail"},
           {"mechanism", failed->mechanism},
           {"reason", fmt::format("{}: expected {}, measured {} ({})", failed->probe,
                                  failed->expected, failed->measured, failed->workload)}};
    } else if (passed) {
      f = {{"verdict", "pass"}, {"mechanism", passed->mechanism}, {"reason", ""}};
    } else {
      f = {
          {"verdict", other->verdict == Verdict::kNotApplicable ? "not_applicable" : "unavailable"},
          {"mechanism", other->mechanism},
          {"reason", other->reason}};
    }
    out[family] = f;
  }
  return out;
}

nlohmann::json DoctorReport::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : checks) {
    std::string verdict = lower(to_string(c.verdict));
    std::replace(verdict.begin(), verdict.end(), ' ', '_');
    list.push_back({{"probe", c.probe},
                    {"family", c.family},
                    {"mechanism", c.mechanism},
                    {"workload", c.workload},
                    {"expected", c.expected},
                    {"measured", c.measured},
                    {"verdict", verdict},
                    {"reason", c.reason}});
  }
  return {{"version", 1},
          {"dir", dir},
          {"filesystem", filesystem},
          {"kernel", kernel},
          {"scratch_pages", scratch_pages},
          {"seconds", seconds},
          {"checks", list},
          {"families", families()}};
}

std::string DoctorReport::table() const {
  std::size_t w[5] = {5, 9, 8, 8, 7};
  for (const auto& c : checks) {
    w[0] = std::max(w[0], c.probe.size());
    w[1] = std::max(w[1], c.mechanism.size());
    w[2] = std::max(w[2], c.expected.size());
    w[3] = std::max(w[3], c.measured.size());
  }
  for (auto& x : w) x = std::min<std::size_t>(x, 44);
  std::string out = fmt::format("faultline doctor: kernel {}, {} in {} ({} pages), {:.1f} s\n\n",
                                kernel, filesystem, dir, scratch_pages, seconds);
  out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", "probe", w[0], "mechanism", w[1],
                     "expected", w[2], "measured", w[3], "verdict");
  std::string last_reason;  // a reason shared by several checks is said once
  for (const auto& c : checks) {
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", c.probe, w[0], c.mechanism, w[1],
                       c.expected, w[2], c.measured, w[3], to_string(c.verdict));
    if (!c.reason.empty() && c.verdict != Verdict::kPass && c.reason != last_reason)
      out += fmt::format("  {}: {}\n", c.workload, c.reason);
    if (c.verdict != Verdict::kPass) last_reason = c.reason;
  }
  return out;
}

}  // namespace faultline::harness
