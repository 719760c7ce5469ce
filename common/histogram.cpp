#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline {

void Histogram::add(std::uint64_t value) {
  // bit_width(v) = floor(log2 v) + 1 for v > 0: v in [2^(k-1), 2^k) -> k.
  const std::uint64_t slot = log2 ? std::uint64_t(std::bit_width(value)) : value;
  ++slots[std::min<std::uint64_t>(kSlots - 1, slot)];
}

std::uint64_t Histogram::total() const {
  std::uint64_t n = 0;
  for (auto v : slots) n += v;
  return n;
}

double Histogram::percentile(double p) const {
  const std::uint64_t n = total();
  if (n == 0) return 0.0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * double(n);
  double seen = 0;
  int last = 0;
  for (int k = 0; k < kSlots; ++k) {
    const double here = double(slots[k]);
    if (here == 0) continue;
    last = k;
    if (seen + here >= rank) {
      if (!log2) return k;
      if (k == 0) return 0.0;
      const double lo = std::ldexp(1.0, k - 1), hi = std::ldexp(1.0, k);
      return lo + (hi - lo) * std::clamp((rank - seen) / here, 0.0, 1.0);
    }
    seen += here;
  }
  return log2 ? std::ldexp(1.0, last) : last;  // rounding left the rank past the end
}

Histogram Histogram::operator-(const Histogram& earlier) const {
  Histogram d = *this;
  for (int k = 0; k < kSlots; ++k) d.slots[k] -= earlier.slots[k];
  return d;
}

Histogram& Histogram::operator+=(const Histogram& other) {
  for (int k = 0; k < kSlots; ++k) slots[k] += other.slots[k];
  return *this;
}

std::vector<std::uint64_t> Histogram::used_slots() const {
  int last = kSlots - 1;
  while (last >= 0 && slots[last] == 0) --last;
  return {slots.begin(), slots.begin() + (last + 1)};
}

}  // namespace faultline
