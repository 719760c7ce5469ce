// The user-observed fault latency, measured by faultline-bench itself (no
// probe, no privilege): the clock read around the first touch of each page
// of the access pattern, into a log2 histogram of nanoseconds. A first touch
// of a page that is not mapped yet is a page fault, so the histogram is what
// the program waits per fault (and ~the cost of a clock read for a page that
// was already mapped, by fault-around, MAP_POPULATE or a heap copy).
//
// Timing every page costs two clock reads and a bitmap lookup per page, so it
// is off unless asked for (faultline-bench --touch-latency).
#pragma once

#include <cstdint>
#include <vector>

#include "benchmarks/access_pattern.h"
#include "common/histogram.h"

namespace faultline {

// The first-touch latencies in nanoseconds, log2 slots (common/histogram.h).
using Log2Histogram = Histogram;

class TouchTimer {
 public:
  // Allocates (and faults in) its page bitmap for a file of `file_size`
  // bytes now, so nothing of the timer lands in the timed region's RSS.
  explicit TouchTimer(std::uint64_t file_size);

  // touch() (access_pattern.h) with the first touch of each page timed: the
  // same bytes in the same order, the same checksum. A page touched again
  // (ranges sharing a page) is read but not timed again, so the histogram
  // counts pages_covered(ranges) touches.
  std::uint64_t touch(const std::uint8_t* data, std::uint64_t size,
                      const std::vector<Range>& ranges);

  const Log2Histogram& latency_ns() const { return hist_; }

 private:
  std::vector<std::uint64_t> seen_;  // one bit per 4 KiB page
  Log2Histogram hist_;
};

}  // namespace faultline
