#include "datasets/gguf.h"

#include "datasets/file_reader.h"
#include "datasets/ggml_types.h"
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

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr std::uint64_t kMaxNameBytes = 63;  // ggml: GGML_MAX_NAME (64) including the NUL
constexpr std::uint32_t kMaxDims = 4;        // ggml: GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;
// Real vocabularies have ~10^5 entries; the cap keeps a crafted file from
// making us allocate tens of GB of values.
constexpr std::uint64_t kMaxArrayElements = 1 << 24;
constexpr std::uint64_t kDefaultAlignment = 32;
// The smallest possible encodings, used to reject absurd counts before reading.
constexpr std::uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, u8
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims=0, type, offset

bool known_type(std::uint32_t t) {
  return t <= static_cast<std::uint32_t>(GgufType::kFloat64);
}

std::uint64_t min_encoded_bytes(GgufType t) {
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

std::uint64_t align_up(std::uint64_t x, std::uint64_t a) {
  return (x + a - 1) / a * a;
}
bool is_pow2(std::uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

std::string printable(const char* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    out += (c >= 0x20 && c < 0x7f) ? fmt::format("{}", static_cast<char>(c))
                                   : fmt::format("\\x{:02x}", c);
  }
  return out;
}

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
