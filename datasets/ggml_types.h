// The ggml tensor types a GGUF file may name: enum value, name, block size
// (elements per block) and type size (bytes per block), as in ggml's
// type_traits. Removed types (4, 5, 31-33, 36-38) are unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

struct GgmlType {
  std::uint32_t id;
  std::string_view name;  // "F32", "Q4_K", ...
  std::uint32_t block_size;
  std::uint32_t type_size;
};

// nullopt for a removed or unknown id.
std::optional<GgmlType> ggml_type(std::uint32_t id);
std::optional<GgmlType> ggml_type(std::string_view name);
// "F32, F16, Q4_0, ..." for error messages.
std::string ggml_type_names();

inline constexpr std::uint32_t kGgmlF32 = 0;
inline constexpr std::uint32_t kGgmlF16 = 1;

}  // namespace faultline
