#include "bpf/trace_counters.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "schema/metrics.h"

namespace faultline::bpf {

TraceCounters TraceCounters::operator-(const TraceCounters& e) const {
  TraceCounters d = *this;
  for (auto [mine, theirs] : {
           std::pair{&d.user_faults, &e.user_faults},
           {&d.mm_faults, &e.mm_faults},
           {&d.major_faults, &e.major_faults},
           {&d.fault_errors, &e.fault_errors},
           {&d.filemap_faults, &e.filemap_faults},
           {&d.faultaround_calls, &e.faultaround_calls},
           {&d.faultaround_pages, &e.faultaround_pages},
           {&d.read_calls, &e.read_calls},
           {&d.ra_sync, &e.ra_sync},
           {&d.ra_async, &e.ra_async},
           {&d.ra_order, &e.ra_order},
           {&d.ra_unbounded, &e.ra_unbounded},
           {&d.ra_mmap_around, &e.ra_mmap_around},
           {&d.ra_requested_pages, &e.ra_requested_pages},
           {&d.ra_pages, &e.ra_pages},
           {&d.ra_unused_pages, &e.ra_unused_pages},
           {&d.ra_unused_evicted, &e.ra_unused_evicted},
           {&d.ra_untracked, &e.ra_untracked},
           {&d.pagecache_add_folios, &e.pagecache_add_folios},
           {&d.pagecache_add_pages, &e.pagecache_add_pages},
           {&d.pagecache_evict_folios, &e.pagecache_evict_folios},
           {&d.pagecache_evict_pages, &e.pagecache_evict_pages},
           {&d.bio_requests, &e.bio_requests},
           {&d.bio_bytes, &e.bio_bytes},
           {&d.bio_completed, &e.bio_completed},
           {&d.bio_other_files, &e.bio_other_files},
           {&d.timeline_events, &e.timeline_events},
           {&d.dropped, &e.dropped},
           {&d.forks_followed, &e.forks_followed},
       })
    *mine -= *theirs;
  // The unused-resident part is a state: a region that used pages added
  // before it would go below zero; restart_unused() at its start avoids that.
  if (ra_unused_pages < e.ra_unused_pages)
    d.ra_unused_pages = ra_unused_evicted - e.ra_unused_evicted;
  d.fault_ns = fault_ns - e.fault_ns;
  d.major_fault_ns = major_fault_ns - e.major_fault_ns;
  d.ra_size_pages = ra_size_pages - e.ra_size_pages;
  d.ra_async_pages = ra_async_pages - e.ra_async_pages;
  d.ra_order_hist = ra_order_hist - e.ra_order_hist;
  d.pagecache_add_order = pagecache_add_order - e.pagecache_add_order;
  d.pagecache_evict_order = pagecache_evict_order - e.pagecache_evict_order;
  d.bio_size_bytes = bio_size_bytes - e.bio_size_bytes;
  d.bio_latency_ns = bio_latency_ns - e.bio_latency_ns;
  return d;
}

namespace {

// How each bpf_* metric of the schema comes out of the counters; nullopt =
// the probe ran but saw no event (a percentile of an empty histogram).
using Producer = std::optional<double> (*)(const TraceCounters&);

std::optional<double> p50_us(const Histogram& h) {
  return h.total() ? std::optional(h.percentile(50) / 1e3) : std::nullopt;
}
std::optional<double> p99_us(const Histogram& h) {
  return h.total() ? std::optional(h.percentile(99) / 1e3) : std::nullopt;
}

const std::map<std::string_view, Producer>& producers() {
  namespace m = faultline::metric;
  static const std::map<std::string_view, Producer> table = {
      {m::kBpfUserFaults,
       [](const TraceCounters& d) { return std::optional(double(d.user_faults)); }},
      {m::kBpfFilemapFaults,
       [](const TraceCounters& d) { return std::optional(double(d.filemap_faults)); }},
      {m::kBpfFaultaroundPages,
       [](const TraceCounters& d) { return std::optional(double(d.faultaround_pages)); }},
      {m::kBpfFaultP50Us, [](const TraceCounters& d) { return p50_us(d.fault_ns); }},
      {m::kBpfFaultP99Us, [](const TraceCounters& d) { return p99_us(d.fault_ns); }},
      {m::kBpfRaSync, [](const TraceCounters& d) { return std::optional(double(d.ra_sync)); }},
      {m::kBpfRaAsync, [](const TraceCounters& d) { return std::optional(double(d.ra_async)); }},
      {m::kBpfRaRequestedPages,
       [](const TraceCounters& d) { return std::optional(double(d.ra_requested_pages)); }},
      {m::kBpfRaPages, [](const TraceCounters& d) { return std::optional(double(d.ra_pages)); }},
      {m::kBpfRaUnusedPages,
       [](const TraceCounters& d) { return std::optional(double(d.ra_unused_pages)); }},
      {m::kBpfPagecacheAddPages,
       [](const TraceCounters& d) { return std::optional(double(d.pagecache_add_pages)); }},
      {m::kBpfPagecacheEvictPages,
       [](const TraceCounters& d) { return std::optional(double(d.pagecache_evict_pages)); }},
      {m::kBpfBioRequests,
       [](const TraceCounters& d) { return std::optional(double(d.bio_requests)); }},
      {m::kBpfBioBytes, [](const TraceCounters& d) { return std::optional(double(d.bio_bytes)); }},
      {m::kBpfBioP50Us, [](const TraceCounters& d) { return p50_us(d.bio_latency_ns); }},
      {m::kBpfBioP99Us, [](const TraceCounters& d) { return p99_us(d.bio_latency_ns); }},
      {m::kBpfDropped, [](const TraceCounters& d) { return std::optional(double(d.dropped)); }},
  };
  return table;
}

}  // namespace

RegionMetrics region_metrics(const TraceCounters& d, const Availability& tracer) {
  RegionMetrics out;
  out.availability = tracer;
  for (const auto& info : faultline::metric::kAll) {
    if (!info.family.starts_with("bpf_")) continue;
    const std::string name(info.name);
    if (tracer.not_measured.count(name)) continue;
    const auto it = producers().find(info.name);
    if (it == producers().end()) {
      out.availability.not_measured_because(name, "the eBPF tracer does not produce it");
      continue;
    }
    if (auto v = it->second(d))
      out.metrics.emplace_back(name, *v);
    else
      out.availability.not_measured_because(name, "no events");
  }
  return out;
}

std::vector<std::pair<std::string, double>> to_metrics(const TraceCounters& d,
                                                       const Availability& tracer) {
  return region_metrics(d, tracer).metrics;
}

std::vector<std::pair<std::string, double>> to_metrics(const TraceCounters& d) {
  return to_metrics(d, d.availability);
}

static nlohmann::json hist_json(const Histogram& h, const char* unit) {
  nlohmann::json j;
  j["unit"] = unit;
  j["scale"] = h.log2 ? "log2" : "linear";
  j["slots"] = h.used_slots();  // trailing empty slots are left out
  j["count"] = h.total();
  if (h.total()) {
    j["p50"] = h.percentile(50);
    j["p90"] = h.percentile(90);
    j["p99"] = h.percentile(99);
  }
  return j;
}

nlohmann::json to_json(const TraceCounters& c) {
  nlohmann::json j;
  j["faults"] = {{"user", c.user_faults},
                 {"handle_mm_fault", c.mm_faults},
                 {"major", c.major_faults},
                 {"errors", c.fault_errors},
                 {"filemap", c.filemap_faults},
                 {"faultaround_calls", c.faultaround_calls},
                 {"faultaround_pages", c.faultaround_pages},
                 {"latency", hist_json(c.fault_ns, "ns")},
                 {"major_latency", hist_json(c.major_fault_ns, "ns")}};
  j["readahead"] = {{"sync", c.ra_sync},
                    {"async", c.ra_async},
                    {"ra_order_calls", c.ra_order},
                    {"ra_unbounded_calls", c.ra_unbounded},
                    {"mmap_read_around", c.ra_mmap_around},
                    {"requested_pages", c.ra_requested_pages},
                    {"pages", c.ra_pages},
                    {"unused_pages", c.ra_unused_pages},
                    {"unused_evicted_pages", c.ra_unused_evicted},
                    {"untracked_pages", c.ra_untracked},
                    {"window_pages", hist_json(c.ra_size_pages, "pages")},
                    {"async_pages", hist_json(c.ra_async_pages, "pages")},
                    {"folio_order", hist_json(c.ra_order_hist, "order")}};
  j["read_calls"] = c.read_calls;
  j["pagecache"] = {{"added_folios", c.pagecache_add_folios},
                    {"added_pages", c.pagecache_add_pages},
                    {"evicted_folios", c.pagecache_evict_folios},
                    {"evicted_pages", c.pagecache_evict_pages},
                    {"added_order", hist_json(c.pagecache_add_order, "order")},
                    {"evicted_order", hist_json(c.pagecache_evict_order, "order")}};
  j["block"] = {{"requests", c.bio_requests},
                {"bytes", c.bio_bytes},
                {"completed", c.bio_completed},
                {"other_file_requests", c.bio_other_files},
                {"size", hist_json(c.bio_size_bytes, "bytes")},
                {"latency", hist_json(c.bio_latency_ns, "ns")}};
  j["timeline"] = {{"events", c.timeline_events}, {"dropped", c.dropped}};
  j["forks_followed"] = c.forks_followed;
  const RegionMetrics r = region_metrics(c, c.availability);
  j["metrics"] = nlohmann::json::object();
  for (const auto& [name, value] : r.metrics) j["metrics"][name] = value;
  j["not_measured"] = r.availability.not_measured;
  j["probes"] = r.availability.probes;
  return j;
}

}  // namespace faultline::bpf
