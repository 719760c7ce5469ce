#include "harness/run_outcome.h"

#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "harness/report_command.h"
#include "harness/runs_schema.h"
#include "harness/summary_table.h"

namespace faultline::harness {
namespace {

// A row that is neither ok nor an outcome the plan expects (an OOM kill
// under --memory-limit) makes the run's exit status 1.
bool expected_outcome(const Plan& plan, const std::string& status) {
  return status == "ok" || (status == "oom_killed" && plan.memory_limit_bytes.has_value());
}

// "2 failed, 1 timeout"
std::string not_ok_text(const std::map<std::string, int>& by_status) {
  std::string out;
  for (const auto& [status, n] : by_status)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, status);
  return out;
}

}  // namespace

int finish_run(const Plan& plan, const ResultsStore& store, std::size_t cells, bool quiet,
               const Credentials* user) {
  // Over the whole run folder, resumed parts included.
  auto rows = store.rows();
  int not_ok = 0;
  std::map<std::string, int> by_status;
  for (const auto& r : rows) {
    const std::string status = r.value(runs::field::kStatus, "");
    if (expected_outcome(plan, status)) continue;
    ++not_ok;
    ++by_status[status];
  }
  const std::size_t missing = cells > rows.size() ? cells - rows.size() : 0;
  // The report first: the table shows its numbers (results.json), computed
  // by the analysis only.
  std::fflush(stdout);
  bool report_written = false;
  std::string report_line, table;
  if (!rows.empty()) {
    if (int rc = write_report(store.dir(), quiet, user); rc != 0) {
      report_line = fmt::format("report not written (status {}); retry: faultline report {}", rc,
                                store.dir());
      table = fmt::format(
          "no summary table: the report was not written (status {}), and its analysis computes "
          "the medians; retry: faultline report {}\n",
          rc, store.dir());
    } else {
      report_written = true;
      report_line = fmt::format("report: {}/report.html", store.dir());
      table = summary_table_from_report(plan, store.dir());
    }
  } else {
    report_line = "no rows, no report";
    table = "no summary table: no rows\n";
  }
  fmt::print("\n{}\n", table);
  fmt::print("results: {}  ({} rows in runs.jsonl{})\n", store.dir(), rows.size(),
             not_ok ? fmt::format(", {} cells not ok", not_ok) : "");
  if (not_ok == 0 && missing == 0 && report_written) {
    fmt::print("report:  {}/report.html  (and report.md, results.csv, plots/)\n", store.dir());
    return 0;
  }
  std::string what;
  if (not_ok)
    what = fmt::format("{} of {} cells not ok ({})", not_ok, cells, not_ok_text(by_status));
  if (missing)
    what += fmt::format("{}{} of {} cells have no row", what.empty() ? "" : ", ", missing, cells);
  if (what.empty()) what = fmt::format("all {} cells ok", cells);
  fmt::print("faultline run: {}; {}\n", what, report_line);
  return 1;
}

}  // namespace faultline::harness
