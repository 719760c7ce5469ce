#include "datasets/safetensors.h"

#include "datasets/file_reader.h"
#include "datasets/output_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace faultline {
namespace {

using nlohmann::json;

struct Dtype {
  std::string_view name;
  std::uint64_t size;
};

// The byte-sized dtypes of the safetensors spec.
constexpr Dtype kDtypes[] = {
    {"F64", 8},  {"F32", 4},     {"F16", 2},     {"BF16", 2},    {"I64", 8}, {"I32", 4},
    {"I16", 2},  {"I8", 1},      {"U64", 8},     {"U32", 4},     {"U16", 2}, {"U8", 1},
    {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1},
};

constexpr std::uint64_t kLengthBytes = 8;

// Where a tensor's entry starts in the file, for error messages.
std::uint64_t entry_offset(const std::string& header, const std::string& name) {
  const auto at = header.find(json(name).dump());
  return kLengthBytes + (at == std::string::npos ? 0 : at);
}

std::string strip_json_prefix(std::string what) {
  // "[json.exception.parse_error.101] parse error at line 1, column 3: ..." -> "line 1, ..."
  if (const auto p = what.find("] "); p != std::string::npos) what.erase(0, p + 2);
  return what;
}

SafetensorsTensor parse_entry(const FileReader& r, const std::string& header,
                              const std::string& name, const json& entry) {
  const std::uint64_t at = entry_offset(header, name);
  const auto bad = [&](const std::string& what) {
    r.fail(at, fmt::format("tensor '{}': {}", name, what));
  };
  if (!entry.is_object()) bad("entry is not a JSON object");
  SafetensorsTensor t;
  t.name = name;

  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) bad("missing \"dtype\" string");
  t.dtype = dtype->get<std::string>();
  const auto esize = safetensors_dtype_size(t.dtype);
  if (!esize)
    bad(fmt::format("unknown dtype '{}' (known: {})", t.dtype, safetensors_dtype_names()));

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) bad("missing \"shape\" array");
  std::uint64_t elements = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned())
      bad(fmt::format("shape entry {} is not a non-negative integer", d.dump()));
    const auto v = d.get<std::uint64_t>();
    if (__builtin_mul_overflow(elements, v, &elements)) bad("shape element count overflows");
    t.shape.push_back(v);
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    bad("\"data_offsets\" must be [begin, end] with non-negative integers");
  t.begin = (*offsets)[0].get<std::uint64_t>();
  t.end = (*offsets)[1].get<std::uint64_t>();
  if (t.begin > t.end)
    bad(fmt::format("data_offsets [{}, {}) end before they begin", t.begin, t.end));

  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements, *esize, &bytes) || bytes != t.end - t.begin)
    bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}) hold {}",
                    shape->dump(), t.dtype, bytes, t.begin, t.end, t.end - t.begin));
  return t;
}

}  // namespace

std::optional<std::uint64_t> safetensors_dtype_size(std::string_view dtype) {
  for (const auto& d : kDtypes)
    if (d.name == dtype) return d.size;
  return std::nullopt;
}

std::string safetensors_dtype_names() {
  std::string out;
  for (const auto& d : kDtypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  FileReader r(path);
  SafetensorsFile f;
  f.file_size = r.size();
  if (r.size() < kLengthBytes)
    r.fail(0, fmt::format("truncated: the 8-byte header length is missing (file has {} bytes)",
                          r.size()));
  f.header_length = r.u64("the header length");
  if (f.header_length > kMaxSafetensorsHeader)
    r.fail(0, fmt::format("header length {} exceeds the {}-byte limit", f.header_length,
                          kMaxSafetensorsHeader));
  if (f.header_length > r.remaining())
    r.fail(0, fmt::format("header length {} runs past the end of the {}-byte file", f.header_length,
                          r.size()));
  f.data_offset = kLengthBytes + f.header_length;
  const std::string header = r.bytes(f.header_length, "the JSON header");

  json doc;
  try {
    doc = json::parse(header);
  } catch (const json::parse_error& e) {
    const std::uint64_t at = e.byte == 0 ? 0 : e.byte - 1;
    r.fail(kLengthBytes + std::min<std::uint64_t>(at, f.header_length),
           "malformed JSON header: " + strip_json_prefix(e.what()));
  } catch (const json::exception& e) {
    // e.g. out_of_range.406, a number too large for any JSON number type
    // (found by fuzz_safetensors).
    r.fail(kLengthBytes, "malformed JSON header: " + strip_json_prefix(e.what()));
  }
  if (!doc.is_object()) r.fail(kLengthBytes, "JSON header is not an object");

  const std::uint64_t data_size = f.file_size - f.data_offset;
  for (const auto& [name, entry] : doc.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        r.fail(entry_offset(header, name), "__metadata__ is not an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          r.fail(entry_offset(header, k),
                 fmt::format("__metadata__ value of '{}' is not a string", k));
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor t = parse_entry(r, header, name, entry);
    if (t.end > data_size)
      r.fail(entry_offset(header, name),
             fmt::format("tensor '{}': data_offsets [{}, {}) are out of range: the data section "
                         "holds {} bytes",
                         name, t.begin, t.end, data_size));
    f.tensors.push_back(std::move(t));
  }
  std::sort(f.tensors.begin(), f.tensors.end(),
            [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < f.tensors.size(); ++i) {
    const auto& prev = f.tensors[i - 1];
    const auto& cur = f.tensors[i];
    if (cur.begin < prev.end)
      r.fail(entry_offset(header, cur.name),
             fmt::format("tensor '{}' data_offsets [{}, {}) overlap tensor '{}' [{}, {})", cur.name,
                         cur.begin, cur.end, prev.name, prev.begin, prev.end));
  }
  return f;
}

namespace {

json header_json(const SafetensorsFile& f) {
  json doc = json::object();
  if (!f.metadata.empty()) doc["__metadata__"] = f.metadata;
  for (const auto& t : f.tensors)
    doc[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  return doc;
}

}  // namespace

void prepare_safetensors(SafetensorsFile& f, std::uint64_t extra_padding) {
  std::uint64_t offset = 0;
  for (auto& t : f.tensors) {
    const auto esize = safetensors_dtype_size(t.dtype);
    if (!esize)
      throw std::invalid_argument(fmt::format("tensor '{}': unknown dtype '{}'", t.name, t.dtype));
    if (t.name == "__metadata__")
      throw std::invalid_argument("a tensor cannot be named __metadata__");
    std::uint64_t bytes = *esize;
    for (auto d : t.shape) bytes *= d;
    t.begin = offset;
    t.end = offset + bytes;
    offset = t.end;
  }
  const std::uint64_t json_bytes = header_json(f).dump().size();
  // Padded with spaces so the data starts 8-byte aligned, as huggingface does.
  f.header_length = (json_bytes + 7) / 8 * 8 + extra_padding / 8 * 8;
  f.data_offset = kLengthBytes + f.header_length;
  f.file_size = f.data_offset + offset;
}

std::string safetensors_header_bytes(const SafetensorsFile& f) {
  std::string text = header_json(f).dump();
  if (text.size() > f.header_length)
    throw std::logic_error("safetensors header changed after prepare_safetensors()");
  text.resize(f.header_length, ' ');
  std::string out(kLengthBytes, '\0');
  for (std::size_t i = 0; i < kLengthBytes; ++i)
    out[i] = static_cast<char>((f.header_length >> (8 * i)) & 0xff);
  return out + text;
}

void write_safetensors(const SafetensorsFile& f, ByteSink& sink, const TensorFiller& fill) {
  BlockWriter w(sink);
  w.append(safetensors_header_bytes(f));
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& t = f.tensors[i];
    w.zeros(f.data_offset + t.begin - w.written());
    w.tensor_data(i, t.bytes(), fill);
  }
  w.flush();
}

void write_safetensors_file(const std::string& path, SafetensorsFile file,
                            const TensorFiller& fill) {
  prepare_safetensors(file);
  OutputFile out(path, {.force = true, .expected_size = file.file_size});
  write_safetensors(file, out, fill);
  out.commit();
}

}  // namespace faultline
