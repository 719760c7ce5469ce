// Seeded, incompressible, fast pseudorandom bytes for synthetic tensor data:
// xoshiro256** (Blackman & Vigna) seeded through splitmix64, producing 64-bit
// words (several GB/s on one core, well above disk speed). The stream is
// byte-exact regardless of how the caller splits its fill() calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace faultline {

class RandomBytes {
 public:
  explicit RandomBytes(std::uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;  // splitmix64
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  void fill(std::span<std::byte> out) {
    std::byte* p = out.data();
    std::size_t n = out.size();
    while (n > 0 && spare_ > 0) {  // finish the word a previous call started
      *p++ = static_cast<std::byte>(word_ >> (8 * (8 - spare_)));
      --spare_;
      --n;
    }
    for (; n >= 8; n -= 8, p += 8) {
      const std::uint64_t w = next();
      std::memcpy(p, &w, 8);
    }
    if (n > 0) {
      word_ = next();
      spare_ = 8;
      while (n > 0) {
        *p++ = static_cast<std::byte>(word_ >> (8 * (8 - spare_)));
        --spare_;
        --n;
      }
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4];
  std::uint64_t word_ = 0;
  int spare_ = 0;  // bytes of word_ not yet handed out (little-endian order)
};

}  // namespace faultline
