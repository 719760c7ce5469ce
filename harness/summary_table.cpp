#include "harness/summary_table.h"

#include "harness/program_spec.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "harness/cell_progress.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

constexpr std::string_view kFormat = "faultline results summary 1";  // analysis/results_csv.py

// One record of results.json: a cell x metric as the analysis summarized it.
struct Record {
  int n = 0;
  double median = 0, min = 0, max = 0;
  bool traced = false;  // from traced repetitions (the cell has no untraced ok one)
};

struct CellRecords {
  std::map<std::string, Record> metrics;
  std::map<std::string, int> failed;  // status -> repetitions
};

using Key = std::tuple<std::string, std::string, std::string>;  // strategy, pattern, cache

std::string bytes(double v) {
  if (v < 512) return "0";
  double mib = v / (1 << 20);
  if (mib >= 1000) return fmt::format("{:.2f}G", mib / 1024);
  if (mib >= 1) return fmt::format("{:.0f}M", mib);
  return fmt::format("{:.0f}K", v / 1024);
}

std::string cell_text(const CellRecords& c, const std::string& metric, bool is_ms) {
  std::string fail;
  for (const auto& [status, n] : c.failed)
    fail += fmt::format("{}{}×{}", fail.empty() ? "" : " ", status, n);
  auto it = c.metrics.find(metric);
  if (it == c.metrics.end() || it->second.n == 0) return fail.empty() ? "–" : fail;
  const Record& r = it->second;
  auto f = is_ms ? format_ms : bytes;
  std::string text =
      r.n > 1 ? fmt::format("{} ({}…{})", f(r.median), f(r.min), f(r.max)) : f(r.median);
  if (r.traced) text += "*";
  return fail.empty() ? text : text + " +" + fail;
}

std::map<Key, CellRecords> read_records(const nlohmann::json& results) {
  if (!results.is_object() || results.value("format", "") != kFormat ||
      !results.contains("records") || !results["records"].is_array())
    throw std::runtime_error(fmt::format("not a results summary (\"format\": \"{}\")", kFormat));
  std::map<Key, CellRecords> cells;
  for (const auto& j : results["records"]) {
    auto& cell = cells[{j.at("strategy").get<std::string>(), j.at("pattern").get<std::string>(),
                        j.at("cache").get<std::string>()}];
    for (const auto& [status, n] : j.at("failed_statuses").items()) cell.failed[status] = n;
    Record r;
    r.n = j.at("n").get<int>();
    if (r.n > 0) {
      r.median = j.at("median").get<double>();
      r.min = j.at("min").get<double>();
      r.max = j.at("max").get<double>();
      const std::string metric = j.at("metric");
      r.traced = j.at("repetitions") == "traced" && !metric.starts_with("bpf_");
    }
    cell.metrics[j.at("metric").get<std::string>()] = r;
  }
  return cells;
}

}  // namespace

std::string summary_table(const Plan& plan, const nlohmann::json& results) {
  const auto cells = read_records(results);
  const bool fleet = plan.processes > 1;
  const std::string ready_key(fleet ? metric::kFleetReadyMs : metric::kReadyMs);
  const std::string mem_key(fleet ? metric::kFleetPssBytes : metric::kRssBytes);
  // Third column: total_ms, or for a fleet the summed RSS next to the summed PSS.
  const std::string total_key(fleet ? metric::kFleetRssBytes : metric::kTotalMs);
  std::vector<std::string> header = {"strategy", "pattern"};
  for (const auto& c : plan.caches) {
    header.push_back(c + " ready ms");
    header.push_back(c + (fleet ? " fleet rss" : " total ms"));
    header.push_back(c + (fleet ? " fleet pss" : " rss"));
  }
  std::vector<std::vector<std::string>> lines;
  bool any_traced = false;
  // The strategies' cells, then the programs' (cmd:NAME × program, baseline).
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& s : plan.strategies)
    for (const auto& p : plan.patterns) rows.emplace_back(s, p);
  for (const auto& c : plan.commands) {
    rows.emplace_back(c.strategy(), kProgramPattern);
    if (!c.baseline.empty()) rows.emplace_back(c.strategy(), kBaselinePattern);
  }
  for (const auto& [s, p] : rows) {
    {
      std::vector<std::string> line = {s, p};
      bool any = false;
      for (const auto& c : plan.caches) {
        auto it = cells.find({s, p, c});
        const CellRecords cell = it == cells.end() ? CellRecords{} : it->second;
        any |= it != cells.end();
        for (const auto& [key, is_ms] : {std::pair{ready_key, true}, std::pair{total_key, !fleet},
                                         std::pair{mem_key, false}}) {
          line.push_back(cell_text(cell, key, is_ms));
          any_traced |= line.back().find('*') != std::string::npos;
        }
      }
      if (any) lines.push_back(line);
    }
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
      "median (min…max) over the untraced repetitions (the report's numbers, results.json); "
      "ready = open → usable pointer, total = ready + pattern; {} = {}\n",
      fleet ? "fleet rss/pss" : "rss",
      fleet
          ? fmt::format("summed RSS / PSS of {} loaders holding the model at once", plan.processes)
          : std::string("memory the load added to the process"));
  out += format_line(header);
  for (const auto& l : lines) out += format_line(l);
  if (any_traced)
    out += "* from the traced repetitions: no untraced repetition of the cell finished\n";
  if (!plan.commands.empty())
    out +=
        "cmd:NAME rows: ready = exec → its ready line (or its exit), rss = what its whole "
        "process tree holds then (no pattern: total –)\n";
  return out;
}

std::string summary_table_from_report(const Plan& plan, const std::string& run_dir) {
  const std::string path = run_dir + "/results.json";
  std::ifstream in(path);
  if (!in)
    return fmt::format("no summary table: {} is missing (the report was not written)\n", path);
  try {
    return summary_table(plan, nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    return fmt::format("no summary table: {}: {}\n", path, e.what());
  }
}

}  // namespace faultline::harness
