// TraceCounters arithmetic, histogram percentiles, metric names and JSON:
// no kernel needed, these run everywhere.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "bpf/trace_counters.h"
#include "schema/metrics.h"

namespace faultline::bpf {
namespace {

TEST(Histogram, PercentilesInterpolateInsideLog2Buckets) {
  Histogram h;
  h.slots[11] = 100;  // [1024, 2048) ns
  EXPECT_EQ(h.total(), 100u);
  EXPECT_DOUBLE_EQ(h.percentile(50), 1536.0);
  EXPECT_DOUBLE_EQ(h.percentile(100), 2048.0);
  h.slots[21] = 1;  // one ~1 ms outlier
  EXPECT_LT(h.percentile(50), 2048.0);
  EXPECT_GE(h.percentile(100), 1u << 20);
  EXPECT_EQ(Histogram{}.percentile(99), 0.0);
}

TEST(Histogram, LinearHistogramsReturnTheOrder) {
  Histogram orders{{}, false};
  orders.slots[0] = 10;
  orders.slots[9] = 90;
  EXPECT_EQ(orders.percentile(5), 0.0);
  EXPECT_EQ(orders.percentile(50), 9.0);
}

TEST(TraceCounters, DifferenceIsTheRegion) {
  TraceCounters a, b;
  a.user_faults = 10;
  a.fault_ns.slots[3] = 4;
  a.dropped = 1;
  b = a;
  b.user_faults = 25;
  b.fault_ns.slots[3] = 7;
  b.dropped = 1;
  const TraceCounters d = b - a;
  EXPECT_EQ(d.user_faults, 15u);
  EXPECT_EQ(d.fault_ns.slots[3], 3u);
  EXPECT_EQ(d.dropped, 0u);
}

TEST(TraceCounters, MetricsAreTheDesignNamesAndAlwaysReportDrops) {
  TraceCounters d;
  d.filemap_faults = 3;
  d.bio_bytes = 4096;
  auto m = to_metrics(d);
  auto value = [&](std::string_view name) -> std::optional<double> {
    for (const auto& [n, v] : m)
      if (n == name) return v;
    return std::nullopt;
  };
  EXPECT_EQ(value(metric::kBpfFilemapFaults), 3.0);
  EXPECT_EQ(value(metric::kBpfBioBytes), 4096.0);
  EXPECT_EQ(value(metric::kBpfDropped), 0.0);
  EXPECT_FALSE(value(metric::kBpfFaultP50Us)) << "no latency measured, no latency metric";
  d.fault_ns.slots[11] = 10;
  m = to_metrics(d);
  ASSERT_TRUE(value(metric::kBpfFaultP50Us));
  EXPECT_NEAR(*value(metric::kBpfFaultP50Us), 1.536, 1e-9);
}

TEST(TraceCounters, WhatIsNotMeasuredIsAbsentWithItsReasonNeverZero) {
  TraceCounters d;
  d.user_faults = 7;
  d.bio_requests = 0;  // the block probe attached and saw nothing: a real 0
  Availability tracer;
  tracer.not_measured_because(std::string(metric::kBpfFaultP50Us), "bpf_fault_latency: no probe");
  tracer.not_measured_because(std::string(metric::kBpfFaultP99Us), "bpf_fault_latency: no probe");
  tracer.not_measured_because(std::string(metric::kBpfRaUnusedPages), "tracking off");
  d.fault_ns.slots[10] = 5;  // even with data, an unavailable family is not reported
  const RegionMetrics r = region_metrics(d, tracer);
  auto value = [&](std::string_view name) -> std::optional<double> {
    for (const auto& [n, v] : r.metrics)
      if (n == name) return v;
    return std::nullopt;
  };
  EXPECT_FALSE(value(metric::kBpfFaultP50Us));
  EXPECT_FALSE(value(metric::kBpfRaUnusedPages));
  EXPECT_EQ(r.availability.not_measured.at(std::string(metric::kBpfRaUnusedPages)), "tracking off");
  EXPECT_EQ(value(metric::kBpfUserFaults), 7.0);
  EXPECT_EQ(value(metric::kBpfBioRequests), 0.0);
  // An attached probe with an empty histogram: 0 events, no percentile.
  EXPECT_FALSE(value(metric::kBpfBioP50Us));
  EXPECT_EQ(r.availability.not_measured.at(std::string(metric::kBpfBioP50Us)), "no events");
  // The counters carry their tracer's availability: to_metrics(d) agrees.
  d.availability = tracer;
  EXPECT_EQ(to_metrics(d), r.metrics);
}

TEST(TraceCounters, EverySchemaBpfMetricHasAProducer) {
  TraceCounters d;
  d.fault_ns.slots[10] = 1;
  d.bio_latency_ns.slots[20] = 1;
  const RegionMetrics r = region_metrics(d, {});
  for (const auto& info : metric::kAll)
    if (info.family.starts_with("bpf_")) {
      EXPECT_FALSE(r.availability.not_measured.count(std::string(info.name)))
          << info.name << ": " << r.availability.not_measured.at(std::string(info.name));
    }
}

TEST(TraceCounters, JsonHasEverySection) {
  TraceCounters c;
  c.ra_async = 2;
  c.pagecache_add_order.slots[2] = 5;
  const auto j = to_json(c);
  for (const char* section :
       {"faults", "readahead", "pagecache", "block", "timeline", "metrics", "not_measured"})
    EXPECT_TRUE(j.contains(section)) << section;
  EXPECT_EQ(j["readahead"]["async"], 2);
  EXPECT_EQ(j["pagecache"]["added_order"]["slots"].size(), 3u);
  EXPECT_EQ(j["metrics"]["bpf_dropped"], 0.0);
}

}  // namespace
}  // namespace faultline::bpf
