// Perf events for this process, encoded by libpfm4; the one owner of
// perf_event_open. Software events (page faults, task clock) work everywhere;
// hardware events are "unsupported" on machines without a PMU (VMs), which
// is a normal answer, not an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

class PerfCounter {
 public:
  // `event` is a libpfm4 name ("page-faults", "major-faults", "minor-faults",
  // "task-clock", "cycles", "instructions", "perf::PERF_COUNT_SW_PAGE_FAULTS"...).
  // pid 0 = this process (all its threads, inherited by children it spawns
  // later when inherit). Never throws: check supported() / error().
  explicit PerfCounter(std::string event, int pid = 0, bool inherit = false);
  ~PerfCounter();
  PerfCounter(PerfCounter&&) noexcept;
  PerfCounter& operator=(PerfCounter&&) noexcept;
  PerfCounter(const PerfCounter&) = delete;
  PerfCounter& operator=(const PerfCounter&) = delete;

  const std::string& event() const { return event_; }
  bool supported() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }  // why unsupported
  // True when perf_event_paranoid forced exclude_kernel (user-mode counts only).
  bool user_only() const { return user_only_; }

  void reset();
  void enable();
  void disable();
  // Current count (scaled by time_enabled/time_running if multiplexed);
  // nullopt when unsupported.
  std::optional<std::uint64_t> read() const;

 private:
  std::string event_;
  int fd_ = -1;
  std::string error_;
  bool user_only_ = false;
};

// A named set of counters, started and read together.
class PerfCounterSet {
 public:
  explicit PerfCounterSet(const std::vector<std::string>& events, int pid = 0,
                          bool inherit = false);
  void start();  // reset + enable
  void stop();   // disable
  // (event, value) for every event; value nullopt for unsupported ones.
  std::vector<std::pair<std::string, std::optional<std::uint64_t>>> read() const;
  const std::vector<PerfCounter>& counters() const { return counters_; }

 private:
  std::vector<PerfCounter> counters_;
};

}  // namespace faultline
