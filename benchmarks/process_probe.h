// What the kernel says about this process's memory, faults and I/O, read from
// /proc/self and getrusage. One snapshot per call; deltas are the caller's.
#pragma once

#include <cstdint>

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
};

// VmRSS/RssFile/RssAnon/VmHWM + rusage + io. Cheap (three small reads).
ProcessSample sample_process();

// Pss from /proc/self/smaps_rollup (slower: walks every mapping), in bytes;
// 0 when unavailable.
std::uint64_t sample_pss_bytes();

// Reset VmHWM to the current RSS through /proc/self/clear_refs ("5").
// Returns false where the kernel refuses it.
bool reset_peak_rss();

}  // namespace faultline
