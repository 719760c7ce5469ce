#include "bpf/trace_summary.h"

#include <algorithm>

#include <fmt/format.h>

#include "schema/metrics.h"

namespace faultline::bpf {
namespace {

std::string bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string ns(double v) {
  if (v < 1e3) return fmt::format("{:.0f} ns", v);
  if (v < 1e6) return fmt::format("{:.1f} µs", v / 1e3);
  if (v < 1e9) return fmt::format("{:.1f} ms", v / 1e6);
  return fmt::format("{:.2f} s", v / 1e9);
}

std::string count(std::uint64_t v) {
  std::string s = std::to_string(v), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// "p50 1.2 µs  p90 ...  p99 ..." or "" when empty.
template <class F>
std::string percentiles(const Histogram& h, F format) {
  if (!h.total()) return "";
  return fmt::format("p50 {}  p90 {}  p99 {}", format(h.percentile(50)), format(h.percentile(90)),
                     format(h.percentile(99)));
}

std::string orders(const Histogram& h) {
  std::string s;
  for (int k = 0; k < kHistSlots; ++k)
    if (h.slots[k]) s += fmt::format("{}{}:{}", s.empty() ? "" : " ", k, count(h.slots[k]));
  return s.empty() ? "-" : s;
}

// Why a metric was not measured, or nullptr.
const std::string* not_measured(const TraceReport& r, std::string_view metric) {
  auto it = r.availability.not_measured.find(std::string(metric));
  return it == r.availability.not_measured.end() ? nullptr : &it->second;
}

}  // namespace

void print_summary(std::FILE* out, const TraceReport& r) {
  namespace m = faultline::metric;
  const auto& c = r.counters;
  auto line = [&](const std::string& s) { fmt::print(out, "{}\n", s); };
  // A counter, or "not measured: <reason>" when its probe is not there.
  auto value = [&](std::string_view metric, const std::string& text) {
    const std::string* why = not_measured(r, metric);
    return why ? fmt::format("not measured ({})", *why) : text;
  };
  std::string what = r.command.empty() ? r.filter : fmt::format("{}", fmt::join(r.command, " "));
  std::string end = r.exit_status ? fmt::format(", exit status {}", *r.exit_status)
                                  : (r.interrupted ? ", stopped" : "");
  line(fmt::format("faultline trace: {} — {:.2f} s{}", what, r.seconds, end));
  if (!r.files.empty()) line(fmt::format("  files        {}", fmt::join(r.files, ", ")));

  line(fmt::format("  page faults  user {}  file-backed {}  fault-around pages {}",
                   value(m::kBpfUserFaults, count(c.user_faults)),
                   value(m::kBpfFilemapFaults, count(c.filemap_faults)),
                   value(m::kBpfFaultaroundPages, count(c.faultaround_pages))));
  if (const std::string* why = not_measured(r, m::kBpfFaultP50Us))
    line(fmt::format("               major, latency: not measured: {}", *why));
  else if (c.fault_ns.total())
    line(fmt::format("               {} faults ({} major, {} failed);  latency {}",
                     count(c.mm_faults), count(c.major_faults), count(c.fault_errors),
                     percentiles(c.fault_ns, ns)));
  else
    line("               handle_mm_fault: 0 faults (no events)");
  if (r.process_faults)
    line(fmt::format("               (kernel rusage: {} minor, {} major)",
                     count(r.process_faults->minor), count(r.process_faults->major)));

  const double page = 4096;
  if (const std::string* why = not_measured(r, m::kBpfRaSync)) {
    line("  readahead    not measured: " + *why);
  } else {
    line(fmt::format("  readahead    sync {}  async {}  mmap read-around {}", count(c.ra_sync),
                     count(c.ra_async), count(c.ra_mmap_around)));
    line(fmt::format("               requested {} pages ({});  read {}",
                     count(c.ra_requested_pages), bytes(c.ra_requested_pages * page),
                     value(m::kBpfRaPages, fmt::format("{} pages ({})", count(c.ra_pages),
                                                       bytes(c.ra_pages * page)))));
    auto pages = [](double v) { return fmt::format("{:.0f}", v); };
    if (c.ra_size_pages.total())
      line(fmt::format("               window pages {};  async pages {}",
                       percentiles(c.ra_size_pages, pages), percentiles(c.ra_async_pages, pages)));
    line(fmt::format("               folio orders {}", orders(c.ra_order_hist)));
  }
  if (const std::string* why = not_measured(r, m::kBpfRaUnusedPages))
    line("               never used: not measured: " + *why);
  else
    line(fmt::format(
        "               never used: {} pages ({}), {} of them already evicted{}",
        count(c.ra_unused_pages), bytes(c.ra_unused_pages * page), count(c.ra_unused_evicted),
        c.ra_untracked
            ? fmt::format(" ({} pages past the files' sizes untracked)", count(c.ra_untracked))
            : ""));

  if (const std::string* why = not_measured(r, m::kBpfPagecacheAddPages)) {
    line("  page cache   not measured: " + *why);
  } else {
    line(fmt::format("  page cache   added {} pages ({}) in {} folios;  evicted {}",
                     count(c.pagecache_add_pages), bytes(c.pagecache_add_pages * page),
                     count(c.pagecache_add_folios),
                     value(m::kBpfPagecacheEvictPages,
                           fmt::format("{} pages", count(c.pagecache_evict_pages)))));
    line(fmt::format("               added by order {}", orders(c.pagecache_add_order)));
  }

  if (const std::string* why = not_measured(r, m::kBpfBioBytes)) {
    line("  block I/O    not measured: " + *why);
  } else {
    line(fmt::format("  block I/O    {} requests, {}{}", count(c.bio_requests), bytes(c.bio_bytes),
                     c.bio_other_files ? fmt::format(" ({} requests for other files left out)",
                                                     count(c.bio_other_files))
                                       : ""));
    if (c.bio_size_bytes.total())
      line(fmt::format("               size {}", percentiles(c.bio_size_bytes, bytes)));
    if (c.bio_latency_ns.total())
      line(fmt::format("               latency {}", percentiles(c.bio_latency_ns, ns)));
  }
  if (c.forks_followed)
    line(fmt::format("  processes    {} children of the traced pids followed",
                     count(c.forks_followed)));

  if (!r.rss.empty()) {
    std::string samples;
    const std::size_t step = std::max<std::size_t>(1, r.rss.size() / 8);
    for (std::size_t i = 0; i < r.rss.size(); i += step)
      samples += fmt::format("{}{:.1f}s {}", samples.empty() ? "" : ", ", r.rss[i].t_s,
                             bytes(r.rss[i].rss_bytes));
    line(fmt::format("  RSS          peak {};  {}", bytes(r.peak_rss_bytes), samples));
  }
  if (r.timeline_enabled)
    line(fmt::format("  timeline     {} events, {} dropped", count(c.timeline_events),
                     count(c.dropped)));
  else if (c.dropped)
    line(fmt::format("  dropped      {} events", count(c.dropped)));
}

nlohmann::json report_json(const TraceReport& r) {
  nlohmann::json j;
  j["command"] = r.command;
  j["pids"] = r.pids;
  j["files"] = r.files;
  j["filter"] = r.filter;
  j["duration_s"] = r.seconds;
  j["interrupted"] = r.interrupted;
  j["exit_status"] = r.exit_status ? nlohmann::json(*r.exit_status) : nlohmann::json();
  if (r.process_faults)
    j["rusage"] = {{"minor_faults", r.process_faults->minor},
                   {"major_faults", r.process_faults->major}};
  j["probes"] = r.availability.probes;
  j["notes"] = r.probes;  // attached, skipped and warnings, as Tracer::probes() says
  j["not_measured"] = r.availability.not_measured;
  j["trace"] = to_json(r.counters);
  auto samples = nlohmann::json::array();
  for (const auto& s : r.rss)
    samples.push_back({{"t_s", s.t_s},
                       {"rss_bytes", s.rss_bytes},
                       {"rss_anon_bytes", s.anon_bytes},
                       {"rss_file_bytes", s.file_bytes}});
  j["rss"] = {{"peak_bytes", r.peak_rss_bytes}, {"samples", samples}};
  if (r.timeline_enabled) {
    auto events = nlohmann::json::array();
    for (const auto& e : r.timeline) {
      const bool bio = e.kind.rfind("bio", 0) == 0;
      nlohmann::json ev = {{"t_ms", (double(e.ts_ns) - double(r.t0_ns)) / 1e6},
                           {"tgid", e.tgid},
                           {"tid", e.tid},
                           {"kind", std::string(e.kind)}};
      if (bio) {
        ev["sector"] = e.index;
        ev["bytes"] = e.nr;
        if (e.value) ev["latency_ns"] = e.value;
      } else {
        ev["ino"] = e.ino;
        ev["offset"] = e.index * 4096;
        ev["pages"] = e.nr;
        if (e.value) ev["value"] = e.value;
        if (e.order) ev["order"] = e.order;
      }
      events.push_back(std::move(ev));
    }
    j["timeline"] = std::move(events);
  }
  return j;
}

}  // namespace faultline::bpf
