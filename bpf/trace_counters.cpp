#include "bpf/trace_counters.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "schema/metrics.h"

namespace faultline::bpf {

std::uint64_t Histogram::total() const {
  std::uint64_t n = 0;
  for (auto v : slots) n += v;
  return n;
}

double Histogram::percentile(double p) const {
  const std::uint64_t n = total();
  if (n == 0) return 0.0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * double(n);
  double seen = 0;
  for (int k = 0; k < kHistSlots; ++k) {
    const double here = double(slots[k]);
    if (here == 0) continue;
    if (seen + here >= rank) {
      if (!log2) return k;
      if (k == 0) return 0.0;
      // Interpolate linearly inside [2^(k-1), 2^k).
      const double lo = std::ldexp(1.0, k - 1), hi = std::ldexp(1.0, k);
      return lo + (hi - lo) * std::clamp((rank - seen) / here, 0.0, 1.0);
    }
    seen += here;
  }
  return log2 ? std::ldexp(1.0, kHistSlots - 1) : kHistSlots - 1;
}

Histogram Histogram::operator-(const Histogram& earlier) const {
  Histogram d = *this;
  for (int k = 0; k < kHistSlots; ++k) d.slots[k] -= earlier.slots[k];
  return d;
}

TraceCounters TraceCounters::operator-(const TraceCounters& e) const {
  TraceCounters d = *this;
  d.user_faults -= e.user_faults;
  d.mm_faults -= e.mm_faults;
  d.major_faults -= e.major_faults;
  d.filemap_faults -= e.filemap_faults;
  d.faultaround_calls -= e.faultaround_calls;
  d.faultaround_pages -= e.faultaround_pages;
  d.read_calls -= e.read_calls;
  d.ra_sync -= e.ra_sync;
  d.ra_async -= e.ra_async;
  d.ra_order -= e.ra_order;
  d.ra_unbounded -= e.ra_unbounded;
  d.ra_mmap_around -= e.ra_mmap_around;
  d.ra_pages -= e.ra_pages;
  d.ra_unused_pages -= e.ra_unused_pages;
  d.ra_unused_evicted -= e.ra_unused_evicted;
  d.ra_untracked -= e.ra_untracked;
  d.pagecache_add_folios -= e.pagecache_add_folios;
  d.pagecache_add_pages -= e.pagecache_add_pages;
  d.pagecache_evict_folios -= e.pagecache_evict_folios;
  d.pagecache_evict_pages -= e.pagecache_evict_pages;
  d.bio_requests -= e.bio_requests;
  d.bio_bytes -= e.bio_bytes;
  d.bio_completed -= e.bio_completed;
  d.timeline_events -= e.timeline_events;
  d.dropped -= e.dropped;
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

std::vector<std::pair<std::string, double>> to_metrics(const TraceCounters& d) {
  namespace m = faultline::metric;
  std::vector<std::pair<std::string, double>> out = {
      {std::string(m::kBpfUserFaults), double(d.user_faults)},
      {std::string(m::kBpfFilemapFaults), double(d.filemap_faults)},
      {std::string(m::kBpfFaultaroundPages), double(d.faultaround_pages)},
      {std::string(m::kBpfRaSync), double(d.ra_sync)},
      {std::string(m::kBpfRaAsync), double(d.ra_async)},
      {std::string(m::kBpfRaPages), double(d.ra_pages)},
      {std::string(m::kBpfPagecacheAddPages), double(d.pagecache_add_pages)},
      {std::string(m::kBpfPagecacheEvictPages), double(d.pagecache_evict_pages)},
      {std::string(m::kBpfBioBytes), double(d.bio_bytes)},
  };
  if (d.fault_ns.total()) {
    out.emplace_back(m::kBpfFaultP50Us, d.fault_ns.percentile(50) / 1e3);
    out.emplace_back(m::kBpfFaultP99Us, d.fault_ns.percentile(99) / 1e3);
  }
  if (d.bio_latency_ns.total()) {
    out.emplace_back(m::kBpfBioP50Us, d.bio_latency_ns.percentile(50) / 1e3);
    out.emplace_back(m::kBpfBioP99Us, d.bio_latency_ns.percentile(99) / 1e3);
  }
  out.emplace_back(m::kBpfDropped, double(d.dropped));
  return out;
}

static nlohmann::json hist_json(const Histogram& h, const char* unit) {
  nlohmann::json j;
  j["unit"] = unit;
  j["scale"] = h.log2 ? "log2" : "linear";
  // Trailing empty slots are left out.
  int last = kHistSlots - 1;
  while (last >= 0 && h.slots[last] == 0) --last;
  j["slots"] = std::vector<std::uint64_t>(h.slots.begin(), h.slots.begin() + (last + 1));
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
                    {"pages", c.ra_pages},
                    {"unused_pages", c.ra_unused_pages},
                    {"unused_evicted_pages", c.ra_unused_evicted},
                    {"untracked_folios", c.ra_untracked},
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
                {"size", hist_json(c.bio_size_bytes, "bytes")},
                {"latency", hist_json(c.bio_latency_ns, "ns")}};
  j["timeline"] = {{"events", c.timeline_events}, {"dropped", c.dropped}};
  j["metrics"] = nlohmann::json::object();
  for (const auto& [name, value] : to_metrics(c)) j["metrics"][name] = value;
  return j;
}

}  // namespace faultline::bpf
