// The one histogram of faultline: counts in slots, log2 (latencies, sizes)
// or linear (folio orders). The eBPF tracer's kernel-side histograms
// (bpf/trace_shared.h) and faultline-bench's first-touch timer fill the same
// layout, so both read alike: for log2 slot 0 holds the value 0 and slot
// k > 0 holds [2^(k-1), 2^k); for linear slot k holds the value k.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace faultline {

struct Histogram {
  static constexpr int kSlots = 64;
  std::array<std::uint64_t, kSlots> slots{};
  bool log2 = true;

  void add(std::uint64_t value);  // log2: into the value's slot; linear: slot = value
  std::uint64_t total() const;
  std::uint64_t count() const { return total(); }
  // The p-th percentile (0..100) in the histogram's unit, interpolated
  // linearly inside its log2 slot (the slot itself for linear ones); 0 when
  // empty.
  double percentile(double p) const;
  Histogram operator-(const Histogram& earlier) const;
  Histogram& operator+=(const Histogram& other);
  // The slots up to the last nonzero one (what JSON outputs carry).
  std::vector<std::uint64_t> used_slots() const;
};

}  // namespace faultline
