// RSS over time: VmRSS / RssAnon / RssFile of a set of processes, read from
// /proc/PID/status by a background thread. Processes that are gone are
// skipped; samples are sums over the live ones.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace faultline {

struct RssSample {
  double t_s = 0;  // since the sampler started
  std::uint64_t rss_bytes = 0, anon_bytes = 0, file_bytes = 0;
};

struct ProcStatusRss {
  std::uint64_t rss_bytes = 0, anon_bytes = 0, file_bytes = 0, peak_bytes = 0;
};
// Reads /proc/PID/status; false when the process is gone.
bool read_status_rss(pid_t pid, ProcStatusRss& out);

struct ProcessFaults {
  std::uint64_t minor = 0, major = 0;  // from wait4's rusage or /proc/PID/stat
};
// minflt / majflt of a live process (/proc/PID/stat); nullopt when gone.
std::optional<ProcessFaults> read_proc_faults(pid_t pid);

// The thread starts in the constructor, and room for `reserve` samples is
// allocated there: start it before a measured region so neither lands in it.
class RssSampler {
 public:
  RssSampler(std::vector<pid_t> pids, std::chrono::milliseconds interval,
             std::size_t reserve = 4096);
  ~RssSampler();  // stops the thread
  void stop();
  std::vector<RssSample> samples() const;
  std::uint64_t peak_bytes() const;  // max VmHWM / sampled RSS seen
  double elapsed_s() const;          // since the sampler started (the samples' clock)

 private:
  void run();
  std::vector<pid_t> pids_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<RssSample> samples_;
  std::uint64_t peak_ = 0;
  std::thread thread_;
};

}  // namespace faultline
