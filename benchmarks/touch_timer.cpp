#include "benchmarks/touch_timer.h"

#include <time.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace faultline {
namespace {

constexpr std::uint64_t kPage = 4096;

// CLOCK_MONOTONIC through the vDSO: the clock of the timed region itself.
inline std::uint64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
}

}  // namespace

void Log2Histogram::add(std::uint64_t value) {
  // bit_width(v) = floor(log2 v) + 1 for v > 0: v in [2^(k-1), 2^k) -> k.
  ++slots[std::min<int>(kSlots - 1, std::bit_width(value))];
}

std::uint64_t Log2Histogram::count() const {
  std::uint64_t n = 0;
  for (auto v : slots) n += v;
  return n;
}

double Log2Histogram::percentile(double p) const {
  const std::uint64_t n = count();
  if (n == 0) return 0.0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * double(n);
  double seen = 0;
  for (int k = 0; k < kSlots; ++k) {
    const double here = double(slots[k]);
    if (here == 0) continue;
    if (seen + here >= rank) {
      if (k == 0) return 0.0;
      const double lo = std::ldexp(1.0, k - 1), hi = std::ldexp(1.0, k);
      return lo + (hi - lo) * std::clamp((rank - seen) / here, 0.0, 1.0);
    }
    seen += here;
  }
  return std::ldexp(1.0, kSlots - 1);
}

Log2Histogram& Log2Histogram::operator+=(const Log2Histogram& other) {
  for (int k = 0; k < kSlots; ++k) slots[k] += other.slots[k];
  return *this;
}

std::vector<std::uint64_t> Log2Histogram::used_slots() const {
  int last = kSlots - 1;
  while (last >= 0 && slots[last] == 0) --last;
  return {slots.begin(), slots.begin() + (last + 1)};
}

TouchTimer::TouchTimer(std::uint64_t file_size) : seen_((file_size / kPage + 64) / 64, 0) {}

std::uint64_t TouchTimer::touch(const std::uint8_t* data, std::uint64_t size,
                                const std::vector<Range>& ranges) {
  std::uint64_t sum = 0;
  std::uint64_t t = now_ns();
  for (const auto& r : ranges) {
    if (r.offset >= size) continue;
    const std::uint64_t end = std::min(size, r.offset + r.bytes);
    std::uint64_t off = r.offset;
    while (off < end) {
      const std::uint64_t page = off / kPage;
      std::uint64_t& word = seen_[page / 64];
      const std::uint64_t bit = std::uint64_t{1} << (page % 64);
      sum = sum * 31 + *reinterpret_cast<const volatile std::uint8_t*>(data + off);
      const std::uint64_t after = now_ns();
      if (!(word & bit)) {
        word |= bit;
        hist_.add(after - t);
      }
      t = after;
      off = (page + 1) * kPage;
    }
  }
  return sum;
}

}  // namespace faultline
