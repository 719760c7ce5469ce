#include "harness/doctor.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "benchmarks/perf_counters.h"
#include "benchmarks/process_probe.h"
#include "harness/doctor_workloads.h"
#include "schema/metrics.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace {

namespace m = metric;
using doctor::ScratchFile;

// Tolerances of the known answers (relative): counts the kernel keeps exactly
// (page-cache insertions, one fault per page) get 0.5 %; bytes from the
// device 1 %; perf and the tracer counting the same user faults 0.3 %.
constexpr double kExact = 0.005;
constexpr double kBytes = 0.01;
constexpr double kSameEvents = 0.003;

std::string count(double v) {
  std::string s = fmt::format("{:.0f}", v), out;
  const std::size_t start = s[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > start && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

bool near(double measured, double expected, double tolerance) {
  return std::abs(measured - expected) <= tolerance * std::max(1.0, std::abs(expected));
}

std::uint64_t read_ahead_pages(int fd);

class Doctor {
 public:
  Doctor(DoctorReport& report, const ScratchFile& file) : r_(report), f_(file) {
    try {
      doctor::evict(f_);
    } catch (const std::exception& e) {
      no_cold_ = fmt::format("{} ({}: its pages cannot be evicted, so nothing here is cold)",
                             e.what(), f_.filesystem());
    }
  }

  void not_applicable(const std::string& probe, const std::string& family,
                      const std::string& workload, const std::string& why) {
    add({probe, family, "-", workload, "-", "-", Verdict::kNotApplicable, why});
  }

  void add(Check c) { r_.checks.push_back(std::move(c)); }

  void check(const std::string& probe, const std::string& family, const std::string& mechanism,
             const std::string& workload, const std::string& expected, const std::string& measured,
             bool pass, const std::string& why_not = "") {
    Check c{probe, family, mechanism, workload, expected, measured};
    c.verdict = pass ? Verdict::kPass : Verdict::kFail;
    if (!pass) c.reason = why_not;
    add(std::move(c));
  }

  void unavailable(const std::string& probe, const std::string& family,
                   const std::string& workload, const std::string& why) {
    add({probe, family, "-", workload, "-", "-", Verdict::kUnavailable, why});
  }

  // The non-BPF probes: residency, rusage, /proc/self/io, status, smaps,
  // clear_refs, perf task-clock, the touch timer.
  void process_checks() {
    const double n = double(f_.pages());
    const std::string cold_random = fmt::format("cold MADV_RANDOM touch of {} pages", count(n));
    if (!no_cold_.empty()) {
      for (auto [probe, family] : {std::pair{"residency after eviction", "residency"},
                                   {"major faults", "rusage"}, {"file pages mapped", "proc_status"},
                                   {"proportional set size", "smaps_rollup"},
                                   {"bytes read from storage", "proc_io"},
                                   {"first-touch timer", "touch_timer"}, {"CPU time", "perf"}})
        not_applicable(probe, family, cold_random, no_cold_);
      warm_process_checks();
      return;
    }
    doctor::evict(f_);
    std::optional<std::uint64_t> cs0;
    try {
      cs0 = doctor::resident_pages_cachestat(f_);
    } catch (const std::exception& e) {
      unavailable("residency after eviction", "residency", "posix_fadvise(DONTNEED)", e.what());
    }
    const std::uint64_t mc0 = doctor::resident_pages_mincore(f_);
    if (cs0)
      check("residency after eviction", "residency", "cachestat", "posix_fadvise(DONTNEED)",
            "0 pages (mincore agrees)", fmt::format("{} (mincore {})", count(*cs0), count(mc0)),
            *cs0 <= f_.pages() / 100 && *cs0 == mc0);

    // Run the measuring code once first, so its own first-time faults (our
    // code and libraries paging in) are not in the scratch file's numbers.
    {
      doctor::Touch warmup;
      doctor::touch(f_, MADV_RANDOM, 1, warmup);
      (void)doctor::process_counters();
    }
    PerfCounter task_clock("task-clock");  // before the samples: libpfm pages in its tables
    doctor::evict(f_);
    const auto before = doctor::process_counters();
    task_clock.enable();
    const auto t0 = std::chrono::steady_clock::now();
    doctor::Touch cold;
    doctor::touch(f_, MADV_RANDOM, f_.pages(), cold);
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    task_clock.disable();
    const auto after = doctor::process_counters();
    check("major faults", "rusage", "getrusage", cold_random, count(n) + " (one per page)",
          count(double(after.major - before.major)),
          near(double(after.major - before.major), n, kExact));
    check("file pages mapped", "proc_status", "/proc/self/status RssFile", cold_random,  // ±1 %
          fmt::format("{} KiB", count(n * 4)), fmt::format("{} KiB", count(double(after.rss_file - before.rss_file) / 1024)),
          near(double(after.rss_file) - double(before.rss_file), n * 4096, kBytes));
    check("proportional set size", "smaps_rollup", "/proc/self/smaps_rollup Pss", cold_random,
          fmt::format("{} KiB", count(n * 4)), fmt::format("{} KiB", count(double(after.pss - before.pss) / 1024)),
          near(double(after.pss) - double(before.pss), n * 4096, kBytes));
    check("bytes read from storage", "proc_io", "/proc/self/io read_bytes", cold_random,
          fmt::format("{} bytes", count(n * 4096)), fmt::format("{} bytes", count(double(after.read_bytes - before.read_bytes))),
          near(double(after.read_bytes - before.read_bytes), n * 4096, kBytes));
    check("first-touch timer", "touch_timer", "clock_gettime around each touch", cold_random,
          fmt::format("{} touches", count(n)), fmt::format("{} touches, p50 {:.1f} µs", count(double(cold.count)), cold.percentile_ns(50) / 1e3),
          cold.count == f_.pages());
    if (auto ns = task_clock.read())
      check("CPU time", "perf", "perf task-clock", cold_random,
            fmt::format("> 0 and ≤ wall ({:.1f} ms)", wall_ms), fmt::format("{:.1f} ms", double(*ns) / 1e6),
            *ns > 0 && double(*ns) / 1e6 <= wall_ms * 1.05 + 1);
    else
      unavailable("CPU time", "perf", cold_random, task_clock.error());
    cold.unmap();
    warm_process_checks();
  }

  void warm_process_checks() {
    const double n = double(f_.pages());
    doctor::warm(f_);
    std::optional<std::uint64_t> cs0;
    try {
      cs0 = doctor::resident_pages_cachestat(f_);
    } catch (const std::exception& e) {
      unavailable("residency after a full read", "residency", "read() of the whole file",
                  e.what());
    }
    if (cs0) {
      const std::uint64_t cs1 = doctor::resident_pages_cachestat(f_);
      const std::uint64_t mc1 = doctor::resident_pages_mincore(f_);
      check("residency after a full read", "residency", "cachestat", "read() of the whole file",
            count(n) + " pages (mincore agrees)", fmt::format("{} (mincore {})", count(double(cs1)), count(double(mc1))),
            cs1 == f_.pages() && mc1 == f_.pages());
    }
    const bool reset = reset_peak_rss();
    const auto hwm = sample_process();
    check("peak RSS reset", "peak_rss", "/proc/self/clear_refs 5, VmHWM", "reset, then read",
          "VmHWM = VmRSS after the reset", fmt::format("VmHWM {} KiB, VmRSS {} KiB", count(double(hwm.peak_rss_bytes) / 1024), count(double(hwm.rss_bytes) / 1024)),
          reset && hwm.peak_rss_bytes <= hwm.rss_bytes + (256u << 10),
          reset ? "" : "clear_refs refused the reset");
  }

#if FAULTLINE_HARNESS_BPF
  void bpf_checks();
  void cold_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail);
  void warm_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail);
#endif

 private:
  DoctorReport& r_;
  const ScratchFile& f_;
  std::string no_cold_;  // why the file cannot be made cold, "" when it can
};

#if FAULTLINE_HARNESS_BPF
// The mechanism that measures a family, from the tracer's probes.
std::string mechanism(const Availability& a, std::initializer_list<const char*> needles) {
  for (const auto& p : a.probes)
    for (const char* n : needles)
      if (p.find(n) != std::string::npos) return p;
  return "-";
}

void Doctor::bpf_checks() {
  bpf::TraceFilter filter;
  filter.pids = {int(::getpid())};
  filter.files = {f_.path()};
  filter.track_unused = true;
  filter.timeline = true;
  filter.timeline_bytes = 4u << 20;
  bpf::Tracer tracer(filter);
  const bool up = tracer.ok() && tracer.start();
  const Availability avail = up ? tracer.availability() : Availability{};

  if (!no_cold_.empty()) {
    for (auto [probe, family] :
         {std::pair{"page-cache insertions", "bpf_pagecache"}, {"block I/O bytes", "bpf_block"},
          {"readahead pages read", "bpf_readahead"}, {"never used after a full read", "bpf_unused"},
          {"timeline ring buffer", "bpf_timeline"}, {"page-cache evictions", "bpf_pagecache"},
          {"file-backed faults", "bpf_faults_filemap"}, {"fault latency", "bpf_fault_latency"}})
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
  auto missing = [&](std::string_view metric) -> std::string {
    if (!up) return tracer.error();
    auto it = avail.not_measured.find(std::string(metric));
    return it == avail.not_measured.end() ? "" : it->second;
  };
  auto region = [&](const std::function<void()>& work) {
    const auto before = tracer.snapshot();
    work();
    if (up) tracer.poll_timeline(0);
    return tracer.snapshot() - before;
  };
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
          cold_read, fmt::format("{} bytes", count(n * 4096)), fmt::format("{} bytes", count(double(rd.bio_bytes))),
          near(double(rd.bio_bytes), n * 4096, kBytes));
    const double hist = double(rd.bio_latency_ns.total());
    check("block latency histogram", "bpf_block", mechanism(avail, {"block_rq_complete"}), cold_read,
          fmt::format("{} requests", count(double(rd.bio_requests))),
          fmt::format("{} latencies, {} completions", count(hist), count(double(rd.bio_completed))),
          rd.bio_requests > 0 && hist == double(rd.bio_requests) &&
              rd.bio_completed == rd.bio_requests);
  }
  if (auto why = missing(m::kBpfRaSync); !why.empty()) {
    unavailable("readahead pages read", "bpf_readahead", cold_read, why);
  } else {
    const double window = double(read_ahead_pages(f_.fd()));
    const double read = double(rd.ra_pages);
    check("readahead pages read", "bpf_readahead", mechanism(avail, {"sync_ra", "ra_order"}), cold_read,
          fmt::format("{} … {} pages (one window {})", count(n), count(n + window), count(window)),
          fmt::format("{} pages in {} sync + {} async", count(read), count(double(rd.ra_sync)), count(double(rd.ra_async))),
          read >= n * (1 - kExact) && read <= n + window && rd.ra_sync >= 1);
  }
  if (auto why = missing(m::kBpfRaUnusedPages); !why.empty())
    unavailable("never used after a full read", "bpf_unused", cold_read, why);
  else
    check("never used after a full read", "bpf_unused", "page bitmap", cold_read, "≤ 1 %",
          fmt::format("{} pages ({:.1f} %)", count(double(rd.ra_unused_pages)), 100.0 * double(rd.ra_unused_pages) / n),
          double(rd.ra_unused_pages) <= 0.01 * n);
  if (up)
    check("timeline ring buffer", "bpf_timeline", "ringbuf", cold_read, "events, none dropped",
          fmt::format("{} events, {} dropped", count(double(rd.timeline_events)), count(double(rd.dropped))),
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
          fmt::format("{} pages ({:.1f} %)", count(double(wh.ra_unused_pages)), 100.0 * double(wh.ra_unused_pages) / n),
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
          fmt::format("≥ {} faults timed", count(n)), fmt::format("{} faults timed", count(double(cr.fault_ns.total()))),
          double(cr.fault_ns.total()) >= n * (1 - kExact));
}

void Doctor::warm_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail) {
  const double n = double(f_.pages());
  auto missing = [&](std::string_view metric) -> std::string {
    if (!up) return tracer.error();
    auto it = avail.not_measured.find(std::string(metric));
    return it == avail.not_measured.end() ? "" : it->second;
  };
  auto region = [&](const std::function<void()>& work) {
    const auto before = tracer.snapshot();
    work();
    return tracer.snapshot() - before;
  };
  // 5. Warm MADV_RANDOM touch: the tracer's user faults = perf's page-faults:u.
  doctor::warm(f_);
  PerfCounter perf("perf::PERF_COUNT_SW_PAGE_FAULTS:u");
  doctor::Touch warm;
  perf.enable();
  const auto wr = region([&] { doctor::touch(f_, MADV_RANDOM, f_.pages(), warm); });
  perf.disable();
  warm.unmap();
  const std::string warm_random = fmt::format("warm MADV_RANDOM touch of {} pages", count(n));
  if (auto why = missing(m::kBpfUserFaults); !why.empty())
    unavailable("user page faults", "bpf_faults_user", warm_random, why);
  else if (!perf.read())
    unavailable("user page faults", "bpf_faults_user", warm_random,
                "no reference: " + perf.error());
  else
    check("user page faults", "bpf_faults_user", mechanism(avail, {"page_fault_user", "handle_mm_fault"}),
          warm_random, fmt::format("perf page-faults:u = {}", count(double(*perf.read()))),
          count(double(wr.user_faults)), near(double(wr.user_faults), double(*perf.read()), kSameEvents));
}
#endif

// The file's readahead window (pages): its device's bdi read_ahead_kb.
std::uint64_t read_ahead_pages(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  FILE* f = std::fopen(fmt::format("/sys/dev/block/{}:{}/../queue/read_ahead_kb", major(st.st_dev),
                                   minor(st.st_dev)).c_str(), "r");
  if (!f) f = std::fopen(fmt::format("/sys/dev/block/{}:{}/queue/read_ahead_kb", major(st.st_dev),
                                     minor(st.st_dev)).c_str(), "r");
  if (!f) f = std::fopen(fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", major(st.st_dev),
                                     minor(st.st_dev)).c_str(), "r");
  unsigned long kb = 128;
  if (f) {
    if (std::fscanf(f, "%lu", &kb) != 1) kb = 128;
    std::fclose(f);
  }
  return kb / 4;
}

}  // namespace

DoctorReport run_doctor(const DoctorOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  DoctorReport r;
  r.dir = o.dir;
  utsname u{};
  r.kernel = ::uname(&u) == 0 ? u.release : "unknown";
  ScratchFile file(o.dir, o.scratch_bytes);
  r.filesystem = file.filesystem();
  r.scratch_pages = file.pages();
  Doctor d(r, file);
  d.process_checks();
#if FAULTLINE_HARNESS_BPF
  d.bpf_checks();
#else
  for (const char* fam : {"bpf_faults_user", "bpf_faults_filemap", "bpf_fault_latency",
                          "bpf_readahead", "bpf_pagecache", "bpf_unused", "bpf_block"})
    d.unavailable("eBPF tracer", fam, "-", "built without the bpf/ tracer");
#endif
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace faultline::harness
