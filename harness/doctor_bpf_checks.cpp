// The eBPF families against their known answers.
#if FAULTLINE_HARNESS_BPF
#include <sys/mman.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "benchmarks/perf_counters.h"
#include "bpf/tracer.h"
#include "harness/doctor_checks.h"
#include "schema/metrics.h"

namespace faultline::harness::doctor {
namespace {
namespace m = metric;
}  // namespace

namespace {
// The mechanism that measures a family, from the tracer's probes.
std::string mechanism(const Availability& a, std::initializer_list<const char*> needles) {
  for (const auto& p : a.probes)
    for (const char* n : needles)
      if (p.find(n) != std::string::npos) return p;
  return "-";
}

// The tracer as the checks use it: why a metric is not measured ("" when it
// is), and the counters of one workload.
struct Probes {
  bpf::Tracer& tracer;
  bool up;
  const Availability& avail;
  std::string missing(std::string_view metric) const {
    if (!up) return tracer.error();
    auto it = avail.not_measured.find(std::string(metric));
    return it == avail.not_measured.end() ? "" : it->second;
  }
  bpf::TraceCounters region(const std::function<void()>& work) const {
    const auto before = tracer.snapshot();
    work();
    if (up) tracer.poll_timeline(0);
    return tracer.snapshot() - before;
  }
};
}  // namespace

void Doctor::bpf_checks() {
  bpf::TraceFilter filter;
  filter.pids = {int(::getpid())};
  filter.files = {f_.path()};
  filter.track_unused = true;
  filter.timeline = true;
  filter.timeline_bytes = 4u << 20;
  std::unique_ptr<bpf::Tracer> owned;
  bool up = false;
  auto open = [&] {
    owned = std::make_unique<bpf::Tracer>(filter);
    up = owned->ok() && owned->start();
  };
  if (o_.with_root_files)
    o_.with_root_files(open);
  else
    open();
  bpf::Tracer& tracer = *owned;
  const Availability avail = up ? tracer.availability() : Availability{};

  if (!no_cold_.empty()) {
    for (auto [probe, family] : {std::pair{"page-cache insertions", "bpf_pagecache"},
                                 {"block I/O bytes", "bpf_block"},
                                 {"readahead pages read", "bpf_readahead"},
                                 {"never used after a full read", "bpf_unused"},
                                 {"timeline ring buffer", "bpf_timeline"},
                                 {"page-cache evictions", "bpf_pagecache"},
                                 {"file-backed faults", "bpf_faults_filemap"},
                                 {"fault latency", "bpf_fault_latency"}})
      not_applicable(probe, family, "cold workloads", no_cold_);
  } else {
    cold_bpf_checks(tracer, up, avail);
  }
  warm_bpf_checks(tracer, up, avail);
  tracer.stop();
}

void Doctor::cold_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail) {
  const double n = double(f_.pages());
  const std::string cold_read = fmt::format("cold read() of {} pages", count(n));
  const Probes p{tracer, up, avail};
  auto missing = [&](std::string_view metric) { return p.missing(metric); };
  auto region = [&](const std::function<void()>& work) { return p.region(work); };
  // 1. Cold read(): page-cache insertions, block I/O, readahead, never used, timeline.
  doctor::evict(f_);
  const auto rd = region([&] { doctor::read_all(f_); });
  if (auto why = missing(m::kBpfPagecacheAddPages); !why.empty())
    unavailable("page-cache insertions", "bpf_pagecache", cold_read, why);
  else
    check("page-cache insertions", "bpf_pagecache", mechanism(avail, {"add_to_page_cache"}),
          cold_read, count(n) + " pages", count(double(rd.pagecache_add_pages)) + " pages",
          near(double(rd.pagecache_add_pages), n, kExact));
  if (auto why = missing(m::kBpfBioBytes); !why.empty()) {
    unavailable("block I/O bytes", "bpf_block", cold_read, why);
  } else if (f_.filesystem() == "tmpfs") {
    add({"block I/O bytes", "bpf_block", "-", cold_read, "-", "-", Verdict::kNotApplicable,
         "the scratch file is on tmpfs: no block device under it"});
  } else {
    check("block I/O bytes", "bpf_block", mechanism(avail, {"block_io_start", "block_rq_issue"}),
          cold_read, fmt::format("{} bytes", count(n * 4096)),
          fmt::format("{} bytes", count(double(rd.bio_bytes))),
          near(double(rd.bio_bytes), n * 4096, kBytes));
    const double hist = double(rd.bio_latency_ns.total());
    check("block latency histogram", "bpf_block", mechanism(avail, {"block_rq_complete"}),
          cold_read, fmt::format("{} requests", count(double(rd.bio_requests))),
          fmt::format("{} latencies, {} completions", count(hist), count(double(rd.bio_completed))),
          rd.bio_requests > 0 && hist == double(rd.bio_requests) &&
              rd.bio_completed == rd.bio_requests);
  }
  if (auto why = missing(m::kBpfRaSync); !why.empty()) {
    unavailable("readahead pages read", "bpf_readahead", cold_read, why);
  } else {
    const double window = double(read_ahead_pages(f_.fd()));
    const double read = double(rd.ra_pages);
    check("readahead pages read", "bpf_readahead", mechanism(avail, {"sync_ra", "ra_order"}),
          cold_read,
          fmt::format("{} … {} pages (one window {})", count(n), count(n + window), count(window)),
          fmt::format("{} pages in {} sync + {} async", count(read), count(double(rd.ra_sync)),
                      count(double(rd.ra_async))),
          read >= n * (1 - kExact) && read <= n + window && rd.ra_sync >= 1);
  }
  if (auto why = missing(m::kBpfRaUnusedPages); !why.empty())
    unavailable("never used after a full read", "bpf_unused", cold_read, why);
  else
    check("never used after a full read", "bpf_unused", "page bitmap", cold_read, "≤ 1 %",
          fmt::format("{} pages ({:.1f} %)", count(double(rd.ra_unused_pages)),
                      100.0 * double(rd.ra_unused_pages) / n),
          double(rd.ra_unused_pages) <= 0.01 * n);
  if (up)
    check("timeline ring buffer", "bpf_timeline", "ringbuf", cold_read, "events, none dropped",
          fmt::format("{} events, {} dropped", count(double(rd.timeline_events)),
                      count(double(rd.dropped))),
          rd.timeline_events > 0 && rd.dropped == 0);

  // 2. POSIX_FADV_DONTNEED of the cached file: evictions.
  const auto ev = region([&] { doctor::dontneed(f_); });
  const std::string dontneed = fmt::format("posix_fadvise(DONTNEED) of {} cached pages", count(n));
  if (auto why = missing(m::kBpfPagecacheEvictPages); !why.empty())
    unavailable("page-cache evictions", "bpf_pagecache", dontneed, why);
  else
    check("page-cache evictions", "bpf_pagecache", mechanism(avail, {"delete_from_page_cache"}),
          dontneed, count(n) + " pages", count(double(ev.pagecache_evict_pages)) + " pages",
          near(double(ev.pagecache_evict_pages), n, kExact));

  // 3. WILLNEED, then the first (contiguous) half touched: half never used.
  doctor::evict(f_);
  doctor::Touch half;
  const auto wh = region([&] {
    doctor::willneed_and_wait(f_, read_ahead_pages(f_.fd()));
    doctor::touch(f_, -1, f_.pages() / 2, half);
  });
  half.unmap();
  const std::string willneed = "WILLNEED, then the first half touched";
  if (auto why = missing(m::kBpfRaUnusedPages); !why.empty())
    unavailable("never used, half touched", "bpf_unused", willneed, why);
  else
    check("never used, half touched", "bpf_unused", "page bitmap", willneed, "45 … 55 %",
          fmt::format("{} pages ({:.1f} %)", count(double(wh.ra_unused_pages)),
                      100.0 * double(wh.ra_unused_pages) / n),
          double(wh.ra_unused_pages) >= 0.45 * n && double(wh.ra_unused_pages) <= 0.55 * n);

  // 4. Cold MADV_RANDOM touch: one file-backed (major) fault per page.
  doctor::evict(f_);
  doctor::Touch cold;
  const auto cr = region([&] { doctor::touch(f_, MADV_RANDOM, f_.pages(), cold); });
  cold.unmap();
  const std::string cold_random = fmt::format("cold MADV_RANDOM touch of {} pages", count(n));
  if (auto why = missing(m::kBpfFilemapFaults); !why.empty())
    unavailable("file-backed faults", "bpf_faults_filemap", cold_random, why);
  else
    check("file-backed faults", "bpf_faults_filemap", mechanism(avail, {"mm_filemap_fault"}),
          cold_random, count(n) + " (one per page)", count(double(cr.filemap_faults)),
          near(double(cr.filemap_faults), n, kExact));
  if (auto why = missing(m::kBpfFaultP50Us); !why.empty())
    unavailable("fault latency", "bpf_fault_latency", cold_random, why);
  else
    check("fault latency", "bpf_fault_latency", mechanism(avail, {"handle_mm_fault"}), cold_random,
          fmt::format("≥ {} faults timed", count(n)),
          fmt::format("{} faults timed", count(double(cr.fault_ns.total()))),
          double(cr.fault_ns.total()) >= n * (1 - kExact));
}

void Doctor::warm_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail) {
  const Probes p{tracer, up, avail};
  auto missing = [&](std::string_view metric) { return p.missing(metric); };
  auto region = [&](const std::function<void()>& work) { return p.region(work); };
  // 5. User faults: the tracer's = perf's page-faults:u, on one fault per page
  // of fresh anonymous memory (no THP; file pages come 16 a fault with
  // fault-around), then a warm MADV_RANDOM touch of the file.
  doctor::warm(f_);
  PerfCounter perf("perf::PERF_COUNT_SW_PAGE_FAULTS:u");
  doctor::Touch warm;
  bpf::TraceCounters wr;
  // perf counts inside the tracer's window; a dry run first, so the code
  // between the two windows has taken its own first faults (ASan's shadow
  // too) before the one that is compared.
  const std::uint64_t anon_bytes = 4 * f_.bytes();
  for (bool dry : {true, false}) {
    perf.reset();
    const auto d = region([&] {
      perf.enable();
      doctor::touch_anonymous(dry ? 4096 : anon_bytes);
      if (!dry) doctor::touch(f_, MADV_RANDOM, f_.pages(), warm);
      perf.disable();
    });
    if (!dry) wr = d;
  }
  warm.unmap();
  const std::string warm_random =
      fmt::format("{} anonymous pages written, then a warm MADV_RANDOM touch of the file",
                  count(double(anon_bytes / 4096)));
  if (auto why = missing(m::kBpfUserFaults); !why.empty())
    unavailable("user page faults", "bpf_faults_user", warm_random, why);
  else if (!perf.read())
    unavailable("user page faults", "bpf_faults_user", warm_random,
                "no reference: " + perf.error());
  else
    check("user page faults", "bpf_faults_user",
          mechanism(avail, {"page_fault_user", "handle_mm_fault"}), warm_random,
          fmt::format("perf page-faults:u = {}", count(double(*perf.read()))),
          count(double(wr.user_faults)),
          near(double(wr.user_faults), double(*perf.read()), kSameEvents));
}

}  // namespace faultline::harness::doctor
#endif  // FAULTLINE_HARNESS_BPF
