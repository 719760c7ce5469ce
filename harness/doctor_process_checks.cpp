#include <sys/mman.h>

#include <optional>

#include "benchmarks/cache.h"
#include "benchmarks/perf_counters.h"
#include "benchmarks/process_probe.h"
#include "harness/doctor_checks.h"

namespace faultline::harness::doctor {

// The non-BPF probes: residency, rusage, /proc/self/io, status, smaps,
// clear_refs, perf task-clock, the touch timer.
void Doctor::process_checks() {
  const double n = double(f_.pages());
  const std::string cold_random = fmt::format("cold MADV_RANDOM touch of {} pages", count(n));
  if (!no_cold_.empty()) {
    for (auto [probe, family] : {std::pair{"residency after eviction", "residency"},
                                 {"major faults", "rusage"},
                                 {"file pages mapped", "proc_status"},
                                 {"proportional set size", "smaps_rollup"},
                                 {"bytes read from storage", "proc_io"},
                                 {"first-touch timer", "touch_timer"},
                                 {"CPU time", "perf"}})
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
  const auto before = doctor::process_counters(&f_);
  task_clock.enable();
  const auto t0 = std::chrono::steady_clock::now();
  doctor::Touch cold;
  doctor::touch(f_, MADV_RANDOM, f_.pages(), cold);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  task_clock.disable();
  const auto after = doctor::process_counters(&f_);
  check("major faults", "rusage", "getrusage", cold_random, count(n) + " (one per page)",
        count(double(after.major - before.major)),
        near(double(after.major - before.major), n, kExact));
  check("file pages mapped", "proc_status", "/proc/self/status RssFile", cold_random,  // ±1 %
        fmt::format("{} KiB", count(n * 4)),
        fmt::format("{} KiB", count(double(after.rss_file - before.rss_file) / 1024)),
        near(double(after.rss_file) - double(before.rss_file), n * 4096, kBytes));
  // The file's own mappings: the rollup also moves when other processes
  // map the libraries we share (doctor_workloads.h).
  const double pss_added = double(after.pss_scratch) - double(before.pss_scratch);
  check("proportional set size", "smaps_rollup", "/proc/self/smaps Pss of the file's mapping",
        cold_random, fmt::format("{} KiB", count(n * 4)),
        fmt::format("{} KiB", count(pss_added / 1024)), near(pss_added, n * 4096, kBytes));
  check("bytes read from storage", "proc_io", "/proc/self/io read_bytes", cold_random,
        fmt::format("{} bytes", count(n * 4096)),
        fmt::format("{} bytes", count(double(after.read_bytes - before.read_bytes))),
        near(double(after.read_bytes - before.read_bytes), n * 4096, kBytes));
  check("first-touch timer", "touch_timer", "TouchTimer (faultline-bench --touch-latency)",
        cold_random, fmt::format("{} touches", count(n)),
        fmt::format("{} touches, p50 {:.1f} µs", count(double(cold.count())),
                    cold.latency_ns.percentile(50) / 1e3),
        cold.count() == f_.pages());
  if (auto ns = task_clock.read())
    check("CPU time", "perf", "perf task-clock", cold_random,
          fmt::format("> 0 and ≤ wall ({:.1f} ms)", wall_ms),
          fmt::format("{:.1f} ms", double(*ns) / 1e6),
          *ns > 0 && double(*ns) / 1e6 <= wall_ms * 1.05 + 1);
  else
    unavailable("CPU time", "perf", cold_random, task_clock.error());
  cold.unmap();
  warm_process_checks();
}

void Doctor::warm_process_checks() {
  const double n = double(f_.pages());
  doctor::warm(f_);
  std::optional<std::uint64_t> cs0;
  try {
    cs0 = doctor::resident_pages_cachestat(f_);
  } catch (const std::exception& e) {
    unavailable("residency after a full read", "residency", "read() of the whole file", e.what());
  }
  if (cs0) {
    const std::uint64_t cs1 = doctor::resident_pages_cachestat(f_);
    const std::uint64_t mc1 = doctor::resident_pages_mincore(f_);
    check("residency after a full read", "residency", "cachestat", "read() of the whole file",
          count(n) + " pages (mincore agrees)",
          fmt::format("{} (mincore {})", count(double(cs1)), count(double(mc1))),
          cs1 == f_.pages() && mc1 == f_.pages());
  }
  const bool reset = reset_peak_rss();
  const auto hwm = sample_process();
  check("peak RSS reset", "peak_rss", "/proc/self/clear_refs 5, VmHWM", "reset, then read",
        "VmHWM = VmRSS after the reset",
        fmt::format("VmHWM {} KiB, VmRSS {} KiB", count(double(hwm.peak_rss_bytes) / 1024),
                    count(double(hwm.rss_bytes) / 1024)),
        reset && hwm.peak_rss_bytes <= hwm.rss_bytes + (256u << 10),
        reset ? "" : "clear_refs refused the reset");
}

}  // namespace faultline::harness::doctor
