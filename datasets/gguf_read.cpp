// Reading and validating a GGUF header (read_gguf, datasets/gguf.h).
#include "datasets/file_reader.h"
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "datasets/gguf_detail.h"

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

// ---- reading ---------------------------------------------------------------

class Parser {
 public:
  explicit Parser(FileReader& r) : r_(r) {}

  std::string string(const std::string& what) {
    const std::uint64_t at = r_.pos();
    const std::uint64_t n = r_.u64(what.c_str());
    if (n > r_.remaining())
      r_.fail(at, fmt::format("{}: string length {} runs past the end of the file ({} bytes left)",
                              what, n, r_.remaining()));
    return r_.bytes(n, what.c_str());
  }

  GgufType type(const std::string& what) {
    const std::uint64_t at = r_.pos();
    const std::uint32_t t = r_.u32(what.c_str());
    if (!known_type(t))
      r_.fail(at, fmt::format("{}: unknown value type {} (known: 0..12)", what, t));
    return static_cast<GgufType>(t);
  }

  GgufValue value(GgufType t, const std::string& what, int depth) {
    const char* w = what.c_str();
    switch (t) {
      case GgufType::kUint8:
        return {t, {}, std::uint64_t{r_.u8(w)}};
      case GgufType::kInt8:
        return {t, {}, std::int64_t{static_cast<std::int8_t>(r_.u8(w))}};
      case GgufType::kUint16:
        return {t, {}, std::uint64_t{r_.u16(w)}};
      case GgufType::kInt16:
        return {t, {}, std::int64_t{static_cast<std::int16_t>(r_.u16(w))}};
      case GgufType::kUint32:
        return {t, {}, std::uint64_t{r_.u32(w)}};
      case GgufType::kInt32:
        return {t, {}, std::int64_t{r_.i32(w)}};
      case GgufType::kUint64:
        return {t, {}, r_.u64(w)};
      case GgufType::kInt64:
        return {t, {}, r_.i64(w)};
      case GgufType::kFloat32: {
        const std::uint32_t bits = r_.u32(w);
        float f;
        std::memcpy(&f, &bits, 4);
        return {t, {}, double{f}};
      }
      case GgufType::kFloat64: {
        const std::uint64_t bits = r_.u64(w);
        double d;
        std::memcpy(&d, &bits, 8);
        return {t, {}, d};
      }
      case GgufType::kBool: {
        const std::uint64_t at = r_.pos();
        const std::uint8_t b = r_.u8(w);
        if (b > 1) r_.fail(at, fmt::format("{}: bool value {} is neither 0 nor 1", what, b));
        return {t, {}, b == 1};
      }
      case GgufType::kString:
        return {t, {}, string(what)};
      case GgufType::kArray:
        return array(what, depth);
    }
    r_.fail(r_.pos(), "unreachable");
  }

  GgufValue array(const std::string& what, int depth) {
    const std::uint64_t type_at = r_.pos();
    if (depth >= kMaxArrayDepth)
      r_.fail(type_at, fmt::format("{}: arrays nested deeper than {}", what, kMaxArrayDepth));
    const GgufType elem = type(what + " array element type");
    const std::uint64_t count_at = r_.pos();
    const std::uint64_t n = r_.u64((what + " array length").c_str());
    if (n > r_.remaining() / min_encoded_bytes(elem))
      r_.fail(count_at, fmt::format("{}: array of {} {} elements runs past the end of the file "
                                    "({} bytes left)",
                                    what, n, to_string(elem), r_.remaining()));
    if (n > kMaxArrayElements)
      r_.fail(count_at, fmt::format("{}: array of {} elements exceeds faultline's limit of {}",
                                    what, n, kMaxArrayElements));
    std::vector<GgufValue> items;
    items.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) items.push_back(value(elem, what, depth + 1));
    return GgufValue::array(elem, std::move(items));
  }

 private:
  FileReader& r_;
};

struct InfoPos {
  std::uint64_t name_at;
  std::uint64_t offset_at;
};

void read_header(FileReader& r, GgufFile& f, std::uint64_t& n_tensors, std::uint64_t& n_kv) {
  char magic[4];
  r.read(magic, 4, "the magic");
  if (std::memcmp(magic, kMagic, 4) != 0)
    r.fail(0, fmt::format("bad magic \"{}\": not a GGUF file (expected \"GGUF\")",
                          printable(magic, 4)));
  const std::uint32_t version = r.u32("the version");
  if (version == 0x02000000 || version == 0x03000000)
    r.fail(4, "big-endian GGUF files are not supported");
  if (version != 2 && version != 3)
    r.fail(4, fmt::format("unsupported GGUF version {} (supported: 2 and 3)", version));
  f.version = version;

  const std::uint64_t tensors_at = r.pos();
  const std::int64_t tensors = r.i64("the tensor count");
  const std::uint64_t kv_at = r.pos();
  const std::int64_t kvs = r.i64("the KV count");
  if (tensors < 0) r.fail(tensors_at, fmt::format("tensor count {} is negative", tensors));
  if (kvs < 0) r.fail(kv_at, fmt::format("KV count {} is negative", kvs));
  n_tensors = static_cast<std::uint64_t>(tensors);
  n_kv = static_cast<std::uint64_t>(kvs);
  if (n_tensors > r.remaining() / kMinTensorInfoBytes)
    r.fail(tensors_at,
           fmt::format("tensor count {} is absurd for a {}-byte file", n_tensors, r.size()));
  if (n_kv > r.remaining() / kMinKvBytes)
    r.fail(kv_at, fmt::format("KV count {} is absurd for a {}-byte file", n_kv, r.size()));
}

void read_alignment(FileReader& r, GgufFile& f, std::uint64_t alignment_at) {
  const GgufValue* a = f.find("general.alignment");
  if (!a) return;
  if (a->type != GgufType::kUint32)
    r.fail(alignment_at,
           fmt::format("general.alignment has type {}, ggml requires u32", to_string(a->type)));
  const std::uint64_t v = a->as_uint();
  if (!is_pow2(v))
    r.fail(alignment_at, fmt::format("general.alignment {} is not a power of two", v));
  f.alignment = v;
}

GgufTensorInfo read_tensor_info(FileReader& r, Parser& p, std::size_t index, InfoPos& pos) {
  GgufTensorInfo t;
  pos.name_at = r.pos();
  t.name = p.string(fmt::format("tensor {} name", index));
  if (t.name.size() > kMaxNameBytes)
    r.fail(pos.name_at, fmt::format("tensor name '{}...' is {} bytes; ggml allows at most {}",
                                    t.name.substr(0, 32), t.name.size(), kMaxNameBytes));
  const std::uint64_t dims_at = r.pos();
  const std::uint32_t n_dims = r.u32("tensor n_dims");
  if (n_dims > kMaxDims)
    r.fail(dims_at, fmt::format("tensor '{}' has {} dimensions; ggml allows at most {}", t.name,
                                n_dims, kMaxDims));
  std::uint64_t elements = 1;
  for (std::uint32_t d = 0; d < n_dims; ++d) {
    const std::uint64_t at = r.pos();
    const std::int64_t ne = r.i64("tensor dimension");
    if (ne < 0) r.fail(at, fmt::format("tensor '{}' dimension {} is negative ({})", t.name, d, ne));
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(ne), &elements) ||
        elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      r.fail(at, fmt::format("tensor '{}' element count overflows", t.name));
    t.dims.push_back(static_cast<std::uint64_t>(ne));
  }
  const std::uint64_t type_at = r.pos();
  t.type = r.u32("tensor type");
  const auto type = ggml_type(t.type);
  if (!type)
    r.fail(type_at, fmt::format("tensor '{}' has unknown ggml type {} (known: {})", t.name, t.type,
                                ggml_type_names()));
  const std::uint64_t ne0 = t.dims.empty() ? 1 : t.dims[0];
  if (ne0 % type->block_size != 0)
    r.fail(dims_at, fmt::format("tensor '{}': first dimension {} is not a multiple of the {} block "
                                "size {}",
                                t.name, ne0, type->name, type->block_size));
  if (__builtin_mul_overflow(elements / type->block_size, std::uint64_t{type->type_size}, &t.bytes))
    r.fail(dims_at, fmt::format("tensor '{}' byte size overflows", t.name));
  pos.offset_at = r.pos();
  t.offset = r.u64("tensor offset");
  return t;
}

void check_tensor_ranges(FileReader& r, const GgufFile& f, const std::vector<InfoPos>& pos) {
  if (f.tensors.empty()) return;
  if (f.data_offset > f.file_size)
    r.fail(f.file_size, fmt::format("tensor data should start at byte {} but the file has only "
                                    "{} bytes",
                                    f.data_offset, f.file_size));
  const std::uint64_t data_size = f.file_size - f.data_offset;
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    if (t.offset % f.alignment != 0)
      r.fail(pos[i].offset_at, fmt::format("tensor '{}' offset {} is not a multiple of the "
                                           "alignment {}",
                                           t.name, t.offset, f.alignment));
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      r.fail(
          pos[i].offset_at,
          fmt::format("tensor '{}' data [{}, {}) runs past the end of the {}-byte file", t.name,
                      f.data_offset + t.offset, f.data_offset + t.offset + t.bytes, f.file_size));
  }
  std::vector<std::size_t> order(f.tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](auto a, auto b) { return f.tensors[a].offset < f.tensors[b].offset; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& prev = f.tensors[order[k - 1]];
    const auto& cur = f.tensors[order[k]];
    if (cur.offset < prev.offset + prev.bytes)
      r.fail(pos[order[k]].offset_at,
             fmt::format("tensor '{}' at data offset {} overlaps tensor '{}' [{}, {})", cur.name,
                         cur.offset, prev.name, prev.offset, prev.offset + prev.bytes));
  }
}
}  // namespace

// ---- read --------------------------------------------------------------------

GgufFile read_gguf(const std::string& path) {
  FileReader r(path);
  Parser p(r);
  GgufFile f;
  f.file_size = r.size();
  std::uint64_t n_tensors = 0, n_kv = 0;
  read_header(r, f, n_tensors, n_kv);

  std::set<std::string> keys;
  std::uint64_t alignment_at = 0;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::uint64_t key_at = r.pos();
    std::string key = p.string(fmt::format("key of KV {}", i));
    if (!keys.insert(key).second) r.fail(key_at, fmt::format("duplicate key '{}'", key));
    const GgufType t = p.type(fmt::format("'{}'", key));
    if (key == "general.alignment") alignment_at = r.pos();
    GgufValue v = p.value(t, fmt::format("'{}'", key), 0);
    f.kv.emplace_back(std::move(key), std::move(v));
  }
  read_alignment(r, f, alignment_at);

  std::set<std::string> names;
  std::vector<InfoPos> pos(n_tensors);
  f.tensors.reserve(n_tensors);
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t = read_tensor_info(r, p, i, pos[i]);
    if (!names.insert(t.name).second)
      r.fail(pos[i].name_at, fmt::format("duplicate tensor name '{}'", t.name));
    f.tensors.push_back(std::move(t));
  }
  f.data_offset = align_up(r.pos(), f.alignment);
  check_tensor_ranges(r, f, pos);
  return f;
}
}  // namespace faultline
