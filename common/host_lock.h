// One measuring run per host. Cold cells, cache drops and the tracer act on
// the whole machine, so two `faultline run`s (or a run and a cold
// `faultline-bench`, or `faultline doctor`) at once corrupt each other's
// numbers. Each takes this lock first: an flock(2) on a file every user can
// open (/run/lock/faultline.lock, $FAULTLINE_LOCK_FILE overrides), holding a
// line that says who holds it. A holder that dies releases it with its last
// descriptor (the kernel does that), so a lock left by a killed run is simply
// taken over; its stale description is overwritten.
//
// A process started by a lock holder does not lock again: the holder sets
// FAULTLINE_HOST_LOCK=held in its children's environment (kHeldEnv).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace faultline {

inline constexpr const char* kHostLockHeldEnv = "FAULTLINE_HOST_LOCK";

class HostLock {
 public:
  struct Options {
    std::string what;  // "faultline run (results/20261201T...)", shown to whoever waits
    bool wait = true;  // false: fail at once when another process holds it
    // Called once when we have to wait, with the holder's description.
    std::function<void(const std::string& holder)> on_wait;
    // Polled while waiting: return true to give up (an interrupt).
    std::function<bool()> give_up;
  };

  // Acquires the lock (or returns without it when this process's parent
  // holds it: FAULTLINE_HOST_LOCK=held). Throws std::runtime_error when it
  // cannot (wait = false and it is held: the message names the holder; the
  // lock file cannot be opened; give_up said so).
  explicit HostLock(const Options& options);
  ~HostLock();
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;

  // True when this object holds the lock (false when a parent does).
  bool held() const { return bool(fd_); }
  // Update the description ("faultline run, results/<run>", once the folder exists).
  void describe(const std::string& what);

  // The lock file's path.
  static std::string path();
  // The current holder's description, nullopt when nobody holds it.
  static std::optional<std::string> holder();

 private:
  UniqueFd fd_;
};

}  // namespace faultline
