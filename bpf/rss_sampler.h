// RSS over time: VmRSS / RssAnon / RssFile of a set of processes, read from
// /proc/PID/status by a background thread. Processes that are gone are
// skipped; samples are sums over the live ones.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline::bpf {

struct RssSample {
  double t_s = 0;  // since the sampler started
  std::uint64_t rss_bytes = 0, anon_bytes = 0, file_bytes = 0;
};

struct ProcStatusRss {
  std::uint64_t rss_bytes = 0, anon_bytes = 0, file_bytes = 0, peak_bytes = 0;
};
// Reads /proc/PID/status; false when the process is gone.
bool read_status_rss(pid_t pid, ProcStatusRss& out);

class RssSampler {
 public:
  RssSampler(std::vector<pid_t> pids, std::chrono::milliseconds interval);
  ~RssSampler();  // stops the thread
  void stop();
  std::vector<RssSample> samples() const;
  std::uint64_t peak_bytes() const;  // max VmHWM / sampled RSS seen

 private:
  void run();
  std::vector<pid_t> pids_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<RssSample> samples_;
  std::uint64_t peak_ = 0;
  std::thread thread_;
};

}  // namespace faultline::bpf
