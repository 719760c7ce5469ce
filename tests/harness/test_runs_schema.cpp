// The runs.jsonl row schema: what validates and what does not.
#include "harness/runs_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faultline::harness::runs {
namespace {

Row ok_row() {
  Row r;
  r.run_id = "20261128T120000Z-vm-custom";
  r.strategy = "mmap:private";
  r.pattern = "forward";
  r.cache = "cold";
  r.rep = 2;
  r.started_at = "2026-11-28T12:00:00Z";
  r.wall_s = 0.5;
  r.model = "/m.gguf";
  r.model_bytes = 1 << 20;
  r.exit_code = 0;
  r.metrics = {{"ready_ms", 0.01}, {"rss_bytes", 1 << 20}};
  return r;
}

TEST(RunsSchema, ValidRowsValidate) {
  auto j = to_json(ok_row());
  EXPECT_THAT(validate(j), ::testing::IsEmpty());
  EXPECT_EQ(j[field::kSchemaVersion], runs::kSchemaVersion);
  EXPECT_EQ(j[field::kCell], "load/mmap:private/forward/cold");
  EXPECT_EQ(row_key(j), "load/mmap:private/forward/cold#2");

  Row oom = ok_row();
  oom.status = Status::kOomKilled;
  oom.error = "killed by the OOM killer";
  oom.term_signal = 9;
  oom.exit_code.reset();
  oom.memory_limit_bytes = 1 << 20;
  oom.metrics.clear();
  EXPECT_THAT(validate(to_json(oom)), ::testing::IsEmpty());
}

TEST(RunsSchema, InvalidRowsAreNamed) {
  auto j = to_json(ok_row());
  auto broken = j;
  broken.erase(field::kRep);
  EXPECT_THAT(validate(broken), ::testing::Contains(::testing::HasSubstr("\"rep\"")));
  broken = j;
  broken[field::kSchemaVersion] = 3;
  EXPECT_FALSE(validate(broken).empty());
  broken = j;
  broken[field::kStatus] = "meh";
  EXPECT_FALSE(validate(broken).empty());
  broken = j;
  broken[field::kMetrics]["ReadyMs"] = 1;
  EXPECT_FALSE(validate(broken).empty());
  broken = j;
  broken[field::kMetrics].erase("ready_ms");
  EXPECT_THAT(validate(broken), ::testing::Contains(::testing::HasSubstr("ready_ms")));
  broken = j;
  broken[field::kStatus] = "failed";  // without an error
  EXPECT_FALSE(validate(broken).empty());
  broken = j;
  broken[field::kCell] = "load/read/forward/cold";
  EXPECT_FALSE(validate(broken).empty());
  EXPECT_FALSE(validate(nlohmann::json::array()).empty());
}

TEST(RunsSchema, FleetRowsNeedTheirSums) {
  Row r = ok_row();
  r.processes = 2;
  r.metrics = {{"fleet_pss_bytes", 10}, {"fleet_rss_bytes", 20}};
  r.fleet = {{{"pid", 1}, {"rss_bytes", 10}}, {{"pid", 2}, {"rss_bytes", 10}}};
  EXPECT_THAT(validate(to_json(r)), ::testing::IsEmpty());
  r.fleet.pop_back();
  EXPECT_FALSE(validate(to_json(r)).empty());
}

}  // namespace
}  // namespace faultline::harness::runs
