// GGUF (v3; v2 is read too) reader and writer, following ggml's gguf.cpp.
//
// Layout: "GGUF" u32 version, i64 tensor count, i64 KV count, the KVs
// (string key, i32 value type, value), the tensor infos (string name, u32
// n_dims, i64 dims innermost first, i32 ggml type, u64 offset relative to the
// data start), padding to general.alignment (default 32), then tensor data.
// Strings are u64 length + bytes; everything is little-endian.
#pragma once

#include "datasets/byte_sink.h"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace faultline {

enum class GgufType : std::uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

const char* to_string(GgufType t);

// One KV value. Unsigned integers are held as uint64, signed as int64, floats
// as double (exact for f32), arrays as a vector of values of `array_type`.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  GgufType array_type = GgufType::kUint8;  // element type when type == kArray
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, std::vector<GgufValue>>
      value;

  static GgufValue u8(std::uint8_t v) { return {GgufType::kUint8, {}, std::uint64_t{v}}; }
  static GgufValue u32(std::uint32_t v) { return {GgufType::kUint32, {}, std::uint64_t{v}}; }
  static GgufValue u64(std::uint64_t v) { return {GgufType::kUint64, {}, v}; }
  static GgufValue i32(std::int32_t v) { return {GgufType::kInt32, {}, std::int64_t{v}}; }
  static GgufValue i64(std::int64_t v) { return {GgufType::kInt64, {}, v}; }
  static GgufValue f32(float v) { return {GgufType::kFloat32, {}, double{v}}; }
  static GgufValue f64(double v) { return {GgufType::kFloat64, {}, v}; }
  static GgufValue boolean(bool v) { return {GgufType::kBool, {}, v}; }
  static GgufValue str(std::string v) { return {GgufType::kString, {}, std::move(v)}; }
  static GgufValue array(GgufType elem, std::vector<GgufValue> items) {
    return {GgufType::kArray, elem, std::move(items)};
  }

  // Typed access; throws std::invalid_argument on a type mismatch.
  std::uint64_t as_uint() const;  // any unsigned (or non-negative signed) integer
  std::int64_t as_int() const;    // any integer that fits
  double as_float() const;
  bool as_bool() const;
  const std::string& as_string() const;
  const std::vector<GgufValue>& as_array() const;

  bool operator==(const GgufValue&) const = default;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<std::uint64_t> dims;  // innermost first (ggml's ne[])
  std::uint32_t type = 0;           // ggml type id (see ggml_types.h)
  std::uint64_t offset = 0;         // relative to GgufFile::data_offset
  std::uint64_t bytes = 0;          // computed from dims and type

  std::uint64_t elements() const;
  bool operator==(const GgufTensorInfo&) const = default;
};

struct GgufFile {
  std::uint32_t version = 3;
  std::vector<std::pair<std::string, GgufValue>> kv;  // in file order
  std::vector<GgufTensorInfo> tensors;                // in file order
  std::uint64_t alignment = 32;                       // general.alignment or 32
  std::uint64_t data_offset = 0;                      // aligned start of tensor data
  std::uint64_t file_size = 0;

  const GgufValue* find(const std::string& key) const;
  void set(const std::string& key, GgufValue value);  // replaces or appends
};

// Reads and validates the header (never the tensor data). Throws FormatError
// naming the file and byte offset on any malformed input, std::system_error
// when the file cannot be opened.
GgufFile read_gguf(const std::string& path);

// Writer side. prepare_gguf() checks what ggml's reader would refuse (names
// of 64 bytes or more, duplicate names, more than 4 dims, unknown type, first
// dim not divisible by the block size, bad alignment) and fills in every
// tensor's bytes and offset (running sum of sizes padded to the alignment),
// data_offset and file_size. Throws std::invalid_argument.
void prepare_gguf(GgufFile& file);
// The header bytes up to the data start, including the alignment padding.
std::string gguf_header_bytes(const GgufFile& prepared);
// The header's length before the alignment padding.
std::uint64_t gguf_header_length(const GgufFile& file);
// Writes header, then each tensor's data from `fill`, padded to the alignment.
void write_gguf(const GgufFile& prepared, ByteSink& sink, const TensorFiller& fill);
// Convenience: prepare + write to `path` atomically (temp file, fsync, rename).
void write_gguf_file(const std::string& path, GgufFile file, const TensorFiller& fill);

}  // namespace faultline
