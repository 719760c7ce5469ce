// `faultline doctor`'s verdicts applied to rows (harness/doctor_verdicts.h):
// a metric of a family that failed its known-answer check leaves the metrics
// (and every fleet entry) for not_measured, with the doctor's reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/doctor_verdicts.h"
#include "harness/runs_schema.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {
using ::testing::HasSubstr;

const nlohmann::json kDoctor = nlohmann::json::parse(R"({
  "families": {
    "bpf_readahead": {"verdict": "fail", "mechanism": "tp_btf/page_cache_sync_ra",
                      "reason": "counted 0 readahead calls where 128 were issued"},
    "bpf_block": {"verdict": "pass", "mechanism": "tp_btf/block_rq_issue", "reason": ""},
    "rusage": {"verdict": "fail", "mechanism": "getrusage"},
    "bpf_fault_latency": {"verdict": "unavailable", "mechanism": "fentry", "reason": "EPERM"},
    "odd": "not an object"
  },
  "checks": []
})");

runs::Row sample_row() {
  runs::Row row;
  row.run_id = "r";
  row.strategy = "mmap:private";
  row.pattern = "forward";
  row.cache = "cold";
  row.started_at = "2026-12-01T00:00:00Z";
  row.model = "/m.gguf";
  row.model_bytes = 1;
  row.traced = true;
  row.metrics = {{"ready_ms", 1.0},    {"bpf_ra_sync", 3},  {"bpf_ra_async", 12},
                 {"bpf_bio_bytes", 9}, {"major_faults", 4}, {"perf_cycles", 100}};
  row.not_measured = {{"bpf_ra_unused_pages", "needs track_unused"}};
  return row;
}

TEST(DoctorVerdicts, OnlyFailedFamiliesCount) {
  auto failed = failed_families(kDoctor);
  EXPECT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed.at("bpf_readahead"), "counted 0 readahead calls where 128 were issued");
  EXPECT_EQ(failed.at("rusage"), "no reason given");
  EXPECT_TRUE(failed_families(nlohmann::json()).empty());
  EXPECT_TRUE(failed_families(nlohmann::json::parse(R"({"families": []})")).empty());
}

TEST(DoctorVerdicts, FailedFamiliesMoveFromMetricsToNotMeasured) {
  auto row = sample_row();
  EXPECT_EQ(apply_doctor_verdicts(failed_families(kDoctor), row), 3);
  for (const char* gone : {"bpf_ra_sync", "bpf_ra_async", "major_faults"}) {
    EXPECT_FALSE(row.metrics.count(gone)) << gone;
    ASSERT_TRUE(row.not_measured.count(gone)) << gone;
  }
  EXPECT_EQ(row.not_measured["bpf_ra_sync"],
            "faultline doctor: bpf_readahead failed its known-answer check on this kernel: "
            "counted 0 readahead calls where 128 were issued");
  EXPECT_THAT(row.not_measured["major_faults"], HasSubstr("faultline doctor: rusage failed"));
  // Passed, unavailable and prefixed families stay; an earlier reason stays.
  for (const char* kept : {"ready_ms", "bpf_bio_bytes", "perf_cycles"})
    EXPECT_TRUE(row.metrics.count(kept)) << kept;
  EXPECT_EQ(row.not_measured["bpf_ra_unused_pages"], "needs track_unused");
  // Never both, and the row is still valid.
  for (const auto& [name, _] : row.metrics) EXPECT_FALSE(row.not_measured.count(name)) << name;
  EXPECT_THAT(runs::validate(runs::to_json(row)), ::testing::IsEmpty());
}

TEST(DoctorVerdicts, FleetEntriesToo) {
  auto row = sample_row();
  row.processes = 2;
  row.metrics["fleet_pss_bytes"] = 1;
  row.fleet = {{{"pid", 1}, {"major_faults", 2}, {"ready_ms", 1}},
               {{"pid", 2}, {"major_faults", 0}, {"ready_ms", 1}}};
  apply_doctor_verdicts(failed_families(kDoctor), row);
  for (const auto& entry : row.fleet) {
    EXPECT_FALSE(entry.count("major_faults"));
    EXPECT_TRUE(entry.count("pid"));
  }
  EXPECT_TRUE(row.not_measured.count("major_faults"));
}

TEST(DoctorVerdicts, NothingFailedChangesNothing) {
  auto row = sample_row();
  const auto before = runs::to_json(row);
  EXPECT_EQ(apply_doctor_verdicts({}, row), 0);
  EXPECT_EQ(runs::to_json(row), before);
}

}  // namespace
}  // namespace faultline::harness
