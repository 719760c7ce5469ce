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
