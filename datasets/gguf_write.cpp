// Writing a GGUF file (prepare_gguf, write_gguf, datasets/gguf.h).
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "datasets/gguf_detail.h"
#include "datasets/output_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>

namespace faultline {
namespace {

using namespace gguf_detail;

// ---- writing ---------------------------------------------------------------

class Encoder {
 public:
  std::string out;

  template <typename T>
  void raw(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  void string(const std::string& s) {
    raw<std::uint64_t>(s.size());
    out += s;
  }
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::kUint8:
        return raw(static_cast<std::uint8_t>(v.as_uint()));
      case GgufType::kInt8:
        return raw(static_cast<std::int8_t>(v.as_int()));
      case GgufType::kUint16:
        return raw(static_cast<std::uint16_t>(v.as_uint()));
      case GgufType::kInt16:
        return raw(static_cast<std::int16_t>(v.as_int()));
      case GgufType::kUint32:
        return raw(static_cast<std::uint32_t>(v.as_uint()));
      case GgufType::kInt32:
        return raw(static_cast<std::int32_t>(v.as_int()));
      case GgufType::kUint64:
        return raw(v.as_uint());
      case GgufType::kInt64:
        return raw(v.as_int());
      case GgufType::kFloat32:
        return raw(static_cast<float>(v.as_float()));
      case GgufType::kFloat64:
        return raw(v.as_float());
      case GgufType::kBool:
        return raw(static_cast<std::uint8_t>(v.as_bool() ? 1 : 0));
      case GgufType::kString:
        return string(v.as_string());
      case GgufType::kArray: {
        raw(static_cast<std::int32_t>(v.array_type));
        raw<std::uint64_t>(v.as_array().size());
        for (const auto& item : v.as_array()) {
          if (item.type != v.array_type)
            throw std::invalid_argument(fmt::format("GGUF array of {} holds a {}",
                                                    to_string(v.array_type), to_string(item.type)));
          value(item);
        }
        return;
      }
    }
  }
};
std::string unpadded_header(const GgufFile& f);

}  // namespace

// ---- write -------------------------------------------------------------------

void prepare_gguf(GgufFile& f) {
  f.alignment = kDefaultAlignment;
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::kUint32 || !is_pow2(a->as_uint()))
      throw std::invalid_argument("general.alignment must be a u32 power of two");
    f.alignment = a->as_uint();
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (auto& t : f.tensors) {
    if (t.name.size() > kMaxNameBytes)
      throw std::invalid_argument(
          fmt::format("tensor name '{}' is longer than {} bytes", t.name, kMaxNameBytes));
    if (!names.insert(t.name).second)
      throw std::invalid_argument(fmt::format("duplicate tensor name '{}'", t.name));
    if (t.dims.empty() || t.dims.size() > kMaxDims)
      throw std::invalid_argument(fmt::format("tensor '{}' needs 1 to 4 dimensions", t.name));
    const auto type = ggml_type(t.type);
    if (!type) throw std::invalid_argument(fmt::format("tensor '{}': unknown ggml type", t.name));
    if (t.dims[0] % type->block_size != 0)
      throw std::invalid_argument(
          fmt::format("tensor '{}': first dimension {} is not a multiple "
                      "of the {} block size {}",
                      t.name, t.dims[0], type->name, type->block_size));
    t.bytes = t.elements() / type->block_size * type->type_size;
    t.offset = offset;
    offset += align_up(t.bytes, f.alignment);
  }
  f.data_offset = align_up(gguf_header_bytes(f).size(), f.alignment);
  f.file_size = f.data_offset + offset;
}

std::string gguf_header_bytes(const GgufFile& f) {
  std::string out = unpadded_header(f);
  out.resize(align_up(out.size(), f.alignment), '\0');
  return out;
}

std::uint64_t gguf_header_length(const GgufFile& f) {
  return unpadded_header(f).size();
}

namespace {
std::string unpadded_header(const GgufFile& f) {
  Encoder e;
  e.out.append(kMagic, 4);
  e.raw<std::uint32_t>(f.version);
  e.raw<std::int64_t>(static_cast<std::int64_t>(f.tensors.size()));
  e.raw<std::int64_t>(static_cast<std::int64_t>(f.kv.size()));
  for (const auto& [key, value] : f.kv) {
    e.string(key);
    e.raw(static_cast<std::int32_t>(value.type));
    e.value(value);
  }
  for (const auto& t : f.tensors) {
    e.string(t.name);
    e.raw<std::uint32_t>(static_cast<std::uint32_t>(t.dims.size()));
    for (auto d : t.dims) e.raw<std::int64_t>(static_cast<std::int64_t>(d));
    e.raw<std::int32_t>(static_cast<std::int32_t>(t.type));
    e.raw<std::uint64_t>(t.offset);
  }
  return std::move(e.out);
}
}  // namespace

void write_gguf(const GgufFile& f, ByteSink& sink, const TensorFiller& fill) {
  BlockWriter w(sink);
  w.append(gguf_header_bytes(f));
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    w.zeros(f.data_offset + t.offset - w.written());
    w.tensor_data(i, t.bytes, fill);
    w.zeros(align_up(w.written(), f.alignment) - w.written());
  }
  w.flush();
}

void write_gguf_file(const std::string& path, GgufFile file, const TensorFiller& fill) {
  prepare_gguf(file);
  OutputFile out(path, {.force = true, .expected_size = file.file_size});
  write_gguf(file, out, fill);
  out.commit();
}

}  // namespace faultline
