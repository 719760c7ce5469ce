// safetensors reader and writer (huggingface/safetensors format):
// u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F16", "shape": [4096, 4096], "data_offsets": [begin, end]},
//    "__metadata__": {"key": "value"}}
// then the data; offsets are [begin, end) relative to the data start (8 + N).
#pragma once

#include "datasets/byte_sink.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;                 // "F16", "BF16", ...
  std::vector<std::uint64_t> shape;  // outermost first (PyTorch order)
  std::uint64_t begin = 0;           // [begin, end) relative to SafetensorsFile::data_offset
  std::uint64_t end = 0;

  std::uint64_t bytes() const { return end - begin; }
  bool operator==(const SafetensorsTensor&) const = default;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<SafetensorsTensor> tensors;       // sorted by begin when read
  std::uint64_t header_length = 0;              // N
  std::uint64_t data_offset = 0;                // 8 + N
  std::uint64_t file_size = 0;
};

inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;  // as the reference reader

// Bytes per element of a safetensors dtype; nullopt if unknown.
std::optional<std::uint64_t> safetensors_dtype_size(std::string_view dtype);
// "F64, F32, ..." for error messages.
std::string safetensors_dtype_names();

// Reads and validates the header. Throws FormatError naming file and offset.
SafetensorsFile read_safetensors(const std::string& path);

// Assigns begin/end in vector order (no gaps), builds the header padded with
// spaces to a multiple of 8 bytes, plus `extra_padding` more spaces (kept a
// multiple of 8 by rounding down), and sets header_length, data_offset and
// file_size. Throws std::invalid_argument on an unknown dtype.
void prepare_safetensors(SafetensorsFile& file, std::uint64_t extra_padding = 0);
// The 8-byte length plus the JSON header of a prepared file.
std::string safetensors_header_bytes(const SafetensorsFile& prepared);
void write_safetensors(const SafetensorsFile& prepared, ByteSink& sink, const TensorFiller& fill);
// Convenience: prepare + write to `path` atomically.
void write_safetensors_file(const std::string& path, SafetensorsFile file,
                            const TensorFiller& fill);

}  // namespace faultline
