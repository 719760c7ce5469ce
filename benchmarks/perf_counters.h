// Perf events for this process, encoded by libpfm4; the one owner of
// perf_event_open. Software events (page faults, task clock) work everywhere;
// hardware events are "unsupported" on machines without a PMU (VMs), which
// is a normal answer, not an error.
//
// perf_event_open counts one thread (pid = a thread id), optionally with the
// threads it creates later (inherit). There is no "whole process" target for
// an unprivileged user, so every_thread() opens one inherited counter per
// thread that exists now: together they count every thread of the process,
// those started later included (pread's threads, io_uring's iou-wrk workers,
// which the kernel creates as threads of the process).
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
  // pid 0 = the calling thread (with inherit: and the threads and children it
  // creates later). Never throws: check supported() / error().
  explicit PerfCounter(std::string event, int pid = 0, bool inherit = false);
  // Every thread of this process: the ones that exist now (one inherited
  // counter each, from /proc/self/task) and every thread any of them creates
  // later. read() is their sum.
  static PerfCounter every_thread(std::string event);
  ~PerfCounter();
  PerfCounter(PerfCounter&&) noexcept;
  PerfCounter& operator=(PerfCounter&&) noexcept;
  PerfCounter(const PerfCounter&) = delete;
  PerfCounter& operator=(const PerfCounter&) = delete;

  const std::string& event() const { return event_; }
  bool supported() const { return !fds_.empty(); }
  // True for every_thread() and for an inherited counter.
  bool inherited() const { return inherit_; }
  const std::string& error() const { return error_; }  // why unsupported
  // True when perf_event_paranoid forced exclude_kernel (user-mode counts only).
  bool user_only() const { return user_only_; }

  // reset() makes the count 0 from here on (a baseline: the kernel's reset
  // keeps what exited inherited threads counted).
  void reset();
  void enable();
  void disable();
  // The count since reset() (scaled by time_enabled/time_running over the
  // same span if multiplexed); nullopt when unsupported or unreadable.
  std::optional<std::uint64_t> read() const;

 private:
  struct Raw {
    std::uint64_t value = 0, time_enabled = 0, time_running = 0;
  };
  PerfCounter() = default;
  bool open(int pid, bool inherit);  // adds one descriptor; false (error_ set) on failure
  void close_all();
  std::optional<Raw> read_raw(int fd) const;

  std::string event_;
  std::vector<int> fds_;
  std::vector<Raw> baseline_;  // per descriptor, from reset()
  std::string error_;
  bool user_only_ = false;
  bool inherit_ = false;
};

// A named set of counters, started and read together.
class PerfCounterSet {
 public:
  explicit PerfCounterSet(const std::vector<std::string>& events, int pid = 0,
                          bool inherit = false);
  // Every event on every thread of this process (PerfCounter::every_thread).
  static PerfCounterSet every_thread(const std::vector<std::string>& events);
  void start();  // reset + enable
  void stop();   // disable
  // (event, value) for every event; value nullopt for unsupported ones.
  std::vector<std::pair<std::string, std::optional<std::uint64_t>>> read() const;
  const std::vector<PerfCounter>& counters() const { return counters_; }

 private:
  PerfCounterSet() = default;
  std::vector<PerfCounter> counters_;
};

}  // namespace faultline
