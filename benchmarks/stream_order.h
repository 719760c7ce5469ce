// The recorded order across a replay's threads. A recording says when each
// thread's accesses happened; a replay that starts its threads together and
// lets each run at its own pace reorders them (a program whose threads read
// one after another is replayed with its threads reading at once, and the
// kernel's readahead sees another sequence). StreamOrder keeps the recorded
// happens-before: range i of stream s starts only after every range of the
// other streams that ended, in the recording, before range i started. Ranges
// that overlapped in the recording may still overlap.
//
// A range starts at RangeStream::t_ns[i] and ends at t_ns[i] + dur_ns[i]
// (dur_ns absent or 0: it ends where it starts). So only reads recorded with
// their duration may overlap: a fault, a populate range or a read recorded
// without dur_ns is taken as instantaneous, and another thread's access that
// started after it waits for it to complete (two threads' overlapping faults
// replay one after the other, in the recorded order). Within a stream the
// ends are taken as never decreasing (each thread's accesses are one after
// another), which also keeps the order free of cycles.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "benchmarks/load_ranges.h"

namespace faultline {

class StreamOrder {
 public:
  // Thrown by wait() after abort(): another stream failed.
  struct Aborted : std::runtime_error {
    Aborted() : std::runtime_error("replay stopped: another thread of it failed") {}
  };

  // Orders the streams that have times (t_ns, one per range); with fewer
  // than two of them there is nothing to order and every call returns at once.
  explicit StreamOrder(const std::vector<RangeStream>& streams);

  bool active() const { return active_; }
  // True when range i of stream s may start now.
  bool may_start(std::size_t s, std::size_t i) const;
  // Blocks until range i of stream s may start; throws Aborted after abort().
  void wait(std::size_t s, std::size_t i) const;
  // The first `count` ranges of stream s are done (counts never go back).
  void done(std::size_t s, std::size_t count);
  // Wakes every waiter; wait() throws Aborted from now on.
  void abort();

  // How many ranges of stream o must be done before range i of stream s
  // starts (o != s).
  std::size_t needed(std::size_t s, std::size_t i, std::size_t o) const;

 private:
  bool active_ = false;
  std::vector<std::vector<std::uint64_t>> start_, end_;  // per stream, per range
  std::unique_ptr<std::atomic<std::uint64_t>[]> done_;   // per stream
  std::atomic<bool> aborted_{false};
};

}  // namespace faultline
