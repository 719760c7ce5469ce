// GGUF values and files (datasets/gguf.h); reading is gguf_read.cpp,
// writing gguf_write.cpp.
#include "datasets/gguf.h"

#include <fmt/format.h>

#include <stdexcept>

#include "datasets/gguf_detail.h"

namespace faultline {

namespace gguf_detail {
std::string printable(const char* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    out += (c >= 0x20 && c < 0x7f) ? fmt::format("{}", static_cast<char>(c))
                                   : fmt::format("\\x{:02x}", c);
  }
  return out;
}
}  // namespace gguf_detail

// ---- GgufValue / GgufFile ----------------------------------------------------

const char* to_string(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
      return "u8";
    case GgufType::kInt8:
      return "i8";
    case GgufType::kUint16:
      return "u16";
    case GgufType::kInt16:
      return "i16";
    case GgufType::kUint32:
      return "u32";
    case GgufType::kInt32:
      return "i32";
    case GgufType::kFloat32:
      return "f32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "u64";
    case GgufType::kInt64:
      return "i64";
    case GgufType::kFloat64:
      return "f64";
  }
  return "?";
}

std::uint64_t GgufValue::as_uint() const {
  if (const auto* u = std::get_if<std::uint64_t>(&value)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&value); i && *i >= 0)
    return static_cast<std::uint64_t>(*i);
  throw std::invalid_argument(
      fmt::format("GGUF value of type {} is not an unsigned integer", to_string(type)));
}

std::int64_t GgufValue::as_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(&value);
      u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(*u);
  throw std::invalid_argument(
      fmt::format("GGUF value of type {} is not a signed integer", to_string(type)));
}

double GgufValue::as_float() const {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  throw std::invalid_argument(fmt::format("GGUF value of type {} is not a float", to_string(type)));
}

bool GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  throw std::invalid_argument(fmt::format("GGUF value of type {} is not a bool", to_string(type)));
}

const std::string& GgufValue::as_string() const {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  throw std::invalid_argument(
      fmt::format("GGUF value of type {} is not a string", to_string(type)));
}

const std::vector<GgufValue>& GgufValue::as_array() const {
  if (const auto* a = std::get_if<std::vector<GgufValue>>(&value)) return *a;
  throw std::invalid_argument(
      fmt::format("GGUF value of type {} is not an array", to_string(type)));
}

std::uint64_t GgufTensorInfo::elements() const {
  std::uint64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

void GgufFile::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv.emplace_back(key, std::move(value));
}
}  // namespace faultline
