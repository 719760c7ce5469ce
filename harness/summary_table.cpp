#include "harness/summary_table.h"

#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "common/size.h"
#include "harness/progress.h"
#include "harness/runs_schema.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

struct Stat {
  std::vector<double> values;
  std::map<std::string, int> failures;  // status -> count
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string ms(double v) {
  return format_ms(v);
}

std::string bytes(double v) {
  if (v < 512) return "0";
  double mib = v / (1 << 20);
  if (mib >= 1000) return fmt::format("{:.2f}G", mib / 1024);
  if (mib >= 1) return fmt::format("{:.0f}M", mib);
  return fmt::format("{:.0f}K", v / 1024);
}

std::string cell_text(const Stat& s, bool is_ms) {
  std::string fail;
  for (const auto& [status, n] : s.failures)
    fail += fmt::format("{}{}×{}", fail.empty() ? "" : " ", status, n);
  if (s.values.empty()) return fail.empty() ? "-" : fail;
  auto [mn, mx] = std::minmax_element(s.values.begin(), s.values.end());
  auto f = is_ms ? ms : bytes;
  std::string text = s.values.size() > 1
                         ? fmt::format("{} ({}…{})", f(median(s.values)), f(*mn), f(*mx))
                         : f(s.values.front());
  return fail.empty() ? text : text + " +" + fail;
}

}  // namespace

std::string summary_table(const Plan& plan, const std::vector<nlohmann::json>& rows) {
  const bool fleet = plan.processes > 1;
  const std::string ready_key(fleet ? metric::kFleetReadyMs : metric::kReadyMs);
  const std::string mem_key(fleet ? metric::kFleetPssBytes : metric::kRssBytes);
  // Third column: total_ms, or for a fleet the summed RSS next to the summed PSS.
  const std::string total_key(fleet ? metric::kFleetRssBytes : metric::kTotalMs);
  // (strategy, pattern) in plan order -> cache -> (ready, mem)
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::array<Stat, 3>>> t;
  for (const auto& r : rows) {
    if (!runs::validate(r).empty()) continue;
    // Headline numbers come from the untraced repetitions only (1..reps;
    // the traced ones are numbered after them).
    if (r.value(runs::field::kRep, 0) > plan.reps) continue;
    auto& [ready, mem, total] =
        t[{r[runs::field::kStrategy], r[runs::field::kPattern]}][r[runs::field::kCache]];
    const auto& m = r[runs::field::kMetrics];
    if (r[runs::field::kStatus] != "ok") {
      ready.failures[r[runs::field::kStatus]]++;
      mem.failures[r[runs::field::kStatus]]++;
      total.failures[r[runs::field::kStatus]]++;
      continue;
    }
    if (m.contains(ready_key)) ready.values.push_back(m[ready_key].get<double>());
    if (m.contains(mem_key)) mem.values.push_back(m[mem_key].get<double>());
    if (m.contains(total_key)) total.values.push_back(m[total_key].get<double>());
  }
  std::vector<std::string> header = {"strategy", "pattern"};
  for (const auto& c : plan.caches) {
    header.push_back(c + " ready ms");
    header.push_back(c + (fleet ? " fleet rss" : " total ms"));
    header.push_back(c + (fleet ? " fleet pss" : " rss"));
  }
  std::vector<std::vector<std::string>> lines;
  for (const auto& s : plan.strategies)
    for (const auto& p : plan.patterns) {
      auto it = t.find({s, p});
      if (it == t.end()) continue;
      std::vector<std::string> line = {s, p};
      for (const auto& c : plan.caches) {
        auto& cell = it->second[c];
        line.push_back(cell_text(cell[0], true));
        line.push_back(cell_text(cell[2], !fleet));
        line.push_back(cell_text(cell[1], false));
      }
      lines.push_back(line);
    }
  std::vector<std::size_t> width(header.size());
  auto visible = [](const std::string& s) {  // UTF-8 code points
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (std::size_t i = 0; i < header.size(); ++i) {
    width[i] = visible(header[i]);
    for (const auto& l : lines) width[i] = std::max(width[i], visible(l[i]));
  }
  auto format_line = [&](const std::vector<std::string>& l) {
    std::string out;
    for (std::size_t i = 0; i < l.size(); ++i) {
      std::string pad(width[i] - visible(l[i]), ' ');
      out += i < 2 ? l[i] + pad : pad + l[i];
      out += i + 1 < l.size() ? "  " : "\n";
    }
    return out;
  };
  std::string out = fmt::format(
      "median (min…max) over the untraced repetitions; ready = open → usable pointer, total = "
      "ready + "
      "pattern; {} = {}\n",
      fleet ? "fleet rss/pss" : "rss",
      fleet
          ? fmt::format("summed RSS / PSS of {} loaders holding the model at once", plan.processes)
          : std::string("memory the load added to the process"));
  out += format_line(header);
  for (const auto& l : lines) out += format_line(l);
  return out;
}

}  // namespace faultline::harness
