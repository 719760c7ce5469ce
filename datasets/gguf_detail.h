// GGUF internals shared by the reader (gguf_read.cpp) and the writer
// (gguf_write.cpp): ggml's limits, the encoding sizes, small helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/gguf.h"

namespace faultline::gguf_detail {

inline constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr std::uint64_t kMaxNameBytes = 63;  // ggml: GGML_MAX_NAME (64) including the NUL
inline constexpr std::uint32_t kMaxDims = 4;        // ggml: GGML_MAX_DIMS
inline constexpr int kMaxArrayDepth = 8;
// Real vocabularies have ~10^5 entries; the cap keeps a crafted file from
// making us allocate tens of GB of values.
inline constexpr std::uint64_t kMaxArrayElements = 1 << 24;
inline constexpr std::uint64_t kDefaultAlignment = 32;
// The smallest possible encodings, used to reject absurd counts before reading.
inline constexpr std::uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, u8
inline constexpr std::uint64_t kMinTensorInfoBytes =
    8 + 4 + 4 + 8;  // empty name, n_dims=0, type, offset

inline bool known_type(std::uint32_t t) {
  return t <= static_cast<std::uint32_t>(GgufType::kFloat64);
}

inline std::uint64_t min_encoded_bytes(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kString:  // u64 length
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kArray:  // i32 type + u64 count
      return 12;
  }
  return 1;
}

inline std::uint64_t align_up(std::uint64_t x, std::uint64_t a) {
  return (x + a - 1) / a * a;
}
inline bool is_pow2(std::uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

// Bytes as text, with \xNN for what is not printable (for error messages).
std::string printable(const char* p, std::size_t n);

}  // namespace faultline::gguf_detail
