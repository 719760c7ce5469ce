// The end-of-run table shows the report's numbers: the analysis writes
// results.json (analysis/results_csv.py) and harness/summary_table.cpp only
// lays it out. On the committed fixture run: every cell's ready_ms and
// total_ms median in the table is the one the report computed, with its
// min…max; a failed repetition shows its status; no results.json, no table.
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/cell_progress.h"
#include "harness/report_command.h"
#include "harness/summary_table.h"

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const char* const kFixture =
    FAULTLINE_SOURCE_DIR "/tests/analysis/fixtures/20261128T100000Z-fixture-quick";

struct FixtureCopy {
  std::string dir;
  FixtureCopy() {
    char name[] = "/tmp/faultline-summary-XXXXXX";
    dir = ::mkdtemp(name);
    dir += "/run";
    fs::copy(kFixture, dir, fs::copy_options::recursive);
  }
  ~FixtureCopy() { fs::remove_all(fs::path(dir).parent_path()); }
};

Plan fixture_plan() {
  std::ifstream in(std::string(kFixture) + "/plan.json");
  auto j = nlohmann::json::parse(in);
  Plan plan;
  plan.strategies = j["strategies"].get<std::vector<std::string>>();
  plan.patterns = j["patterns"].get<std::vector<std::string>>();
  plan.caches = j["caches"].get<std::vector<std::string>>();
  plan.reps = j["reps"];
  plan.processes = j["processes"];
  return plan;
}

// The table line of (strategy, pattern).
std::string table_line(const std::string& table, const std::string& strategy,
                       const std::string& pattern) {
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(strategy + " ") && line.find("  " + pattern + " ") != std::string::npos &&
        line.substr(0, line.find("  ")) == strategy)
      return line;
  return "";
}

TEST(SummaryTable, ShowsTheReportsMediansAndSpreads) {
  FixtureCopy run;
  ASSERT_EQ(write_report(run.dir, /*quiet=*/true), 0);
  const Plan plan = fixture_plan();
  const std::string table = summary_table_from_report(plan, run.dir);
  EXPECT_THAT(table, HasSubstr("over the untraced repetitions"));
  std::ifstream in(run.dir + "/results.json");
  const auto results = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& r : results["records"]) {
    if (r["metric"] != "ready_ms" && r["metric"] != "total_ms") continue;
    if (r["n"].get<int>() < 2) continue;
    const std::string line = table_line(table, r["strategy"], r["pattern"]);
    ASSERT_FALSE(line.empty()) << r["strategy"] << " " << r["pattern"] << "\n" << table;
    const std::string text =
        format_ms(r["median"]) + " (" + format_ms(r["min"]) + "…" + format_ms(r["max"]) + ")";
    EXPECT_THAT(line, HasSubstr(text)) << r["metric"] << " " << r["cache"];
    ++checked;
  }
  EXPECT_GE(checked, 40);  // 4 strategies x 3 patterns x 2 caches x 2 metrics, less the failed
  // The fixture's numbers (tests/analysis/make_fixture.py): populate's cold
  // startup is 400, 500, 800 ms; advise=random's cold forward timed out once.
  EXPECT_THAT(table_line(table, "mmap:private,populate", "none"), HasSubstr("500 (400…800)"));
  EXPECT_THAT(table_line(table, "mmap:private,advise=random", "forward"), HasSubstr("timeout×1"));
}

TEST(SummaryTable, WithoutTheReportThereIsNoTable) {
  FixtureCopy run;
  const std::string table = summary_table_from_report(fixture_plan(), run.dir);
  EXPECT_THAT(table, HasSubstr("no summary table"));
  EXPECT_THAT(table, HasSubstr("results.json is missing"));
  EXPECT_THAT(table, ::testing::Not(HasSubstr("ready ms")));
  std::ofstream(run.dir + "/results.json") << R"({"records": []})";
  EXPECT_THAT(summary_table_from_report(fixture_plan(), run.dir),
              HasSubstr("not a results summary"));
}

}  // namespace
}  // namespace faultline::harness
