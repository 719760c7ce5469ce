// What the kernel says about this process's memory, faults and I/O, read from
// /proc/self and getrusage. One snapshot per call; deltas are the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace faultline {

struct ProcessSample {
  std::uint64_t rss_bytes = 0;        // VmRSS
  std::uint64_t rss_file_bytes = 0;   // RssFile
  std::uint64_t rss_anon_bytes = 0;   // RssAnon
  std::uint64_t rss_shmem_bytes = 0;  // RssShmem
  std::uint64_t peak_rss_bytes = 0;   // VmHWM
  std::uint64_t minor_faults = 0;     // getrusage ru_minflt
  std::uint64_t major_faults = 0;     // getrusage ru_majflt
  std::uint64_t read_bytes = 0;       // /proc/self/io read_bytes (storage)
  std::uint64_t rchar = 0;            // /proc/self/io rchar (all read() bytes)
  // Which sources answered: a metric from a source that did not is not
  // measured (never 0). /proc/self/io needs task I/O accounting
  // (CONFIG_TASK_IO_ACCOUNTING); status and rusage are always there.
  bool status = false;
  bool io = false;
  bool rusage = false;
};

// VmRSS/RssFile/RssAnon/VmHWM + rusage + io. Cheap (three small reads).
ProcessSample sample_process();

// Pss from /proc/self/smaps_rollup (slower: walks every mapping), in bytes;
// nullopt when the kernel has no smaps_rollup (before 4.14, or built without
// CONFIG_PROC_PAGE_MONITOR).
std::optional<std::uint64_t> sample_pss();
// The same, 0 when unavailable (for harness/hold_main.cpp, which cannot say
// "not measured" yet; prefer sample_pss()).
inline std::uint64_t sample_pss_bytes() {
  return sample_pss().value_or(0);
}

// Reset VmHWM to the current RSS through /proc/self/clear_refs ("5").
// Returns false where the kernel refuses it (no clear_refs without
// CONFIG_PROC_PAGE_MONITOR; "5" is EINVAL before 4.0), with why in *why.
bool reset_peak_rss(std::string* why = nullptr);

}  // namespace faultline
