#include "datasets/model_layout.h"

#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "datasets/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

namespace faultline {
namespace {

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

bool is_index(std::string_view s) {
  return !s.empty() && s.size() <= 6 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The number that follows the name part `key` ("experts" in "...experts.3.w1"), or -1.
int index_after(const std::vector<std::string_view>& parts, std::string_view key,
                std::string_view before = {}) {
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] != key || !is_index(parts[i + 1])) continue;
    if (!before.empty() && (i == 0 || parts[i - 1] != before)) continue;
    return std::stoi(std::string(parts[i + 1]));
  }
  return -1;
}

// The first bytes of the file, to recognise its format.
std::string read_prefix(const std::string& path, std::uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  struct stat st {};
  ::fstat(fd, &st);
  size = static_cast<std::uint64_t>(st.st_size);
  std::string prefix(16, '\0');
  const ssize_t n = ::pread(fd, prefix.data(), prefix.size(), 0);
  ::close(fd);
  prefix.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return prefix;
}

// An 8-byte header length that fits the file and the limit, followed by '{'.
bool looks_like_safetensors(const std::string& prefix, std::uint64_t size) {
  if (prefix.size() < 9 || prefix[8] != '{') return false;
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(prefix[i]);
  return n >= 2 && n <= kMaxSafetensorsHeader && n <= size - 8;
}

bool is_expert_stack(const GgufTensorInfo& t) {
  const std::string_view name = t.name;
  return t.dims.size() == 3 && t.dims[2] > 0 && name.find("_exps") != std::string_view::npos &&
         t.bytes % t.dims[2] == 0;
}

void add_gguf(ModelLayout& m) {
  const GgufFile f = read_gguf(m.path);
  m.data_offset = f.data_offset;
  for (const auto& t : f.tensors) {
    const std::string dtype(ggml_type(t.type)->name);
    const std::uint64_t offset = f.data_offset + t.offset;
    if (!is_expert_stack(t)) {
      m.tensors.push_back({t.name, offset, t.bytes, dtype, layer_of(t.name), -1, t.dims});
      continue;
    }
    // ffn_{gate,up,down}_exps: dims {in, out, n_expert}, so expert e is the
    // e-th contiguous slice of bytes / n_expert.
    const std::uint64_t experts = t.dims[2];
    const std::uint64_t slice = t.bytes / experts;
    for (std::uint64_t e = 0; e < experts; ++e)
      m.tensors.push_back({fmt::format("{}[{}]", t.name, e),
                           offset + e * slice,
                           slice,
                           dtype,
                           layer_of(t.name),
                           static_cast<int>(e),
                           {t.dims[0], t.dims.size() > 1 ? t.dims[1] : 1}});
    m.n_experts = std::max(m.n_experts, static_cast<int>(experts));
  }
}

void add_safetensors(ModelLayout& m) {
  const SafetensorsFile f = read_safetensors(m.path);
  m.data_offset = f.data_offset;
  for (const auto& t : f.tensors) {
    const int expert = index_after(split_dots(t.name), "experts");
    m.tensors.push_back({t.name, f.data_offset + t.begin, t.bytes(), t.dtype, layer_of(t.name),
                         expert, std::vector<std::uint64_t>(t.shape.rbegin(), t.shape.rend())});
    m.n_experts = std::max(m.n_experts, expert + 1);
  }
}

}  // namespace

const char* to_string(ModelFormat f) {
  switch (f) {
    case ModelFormat::kRaw:
      return "raw";
    case ModelFormat::kGguf:
      return "gguf";
    case ModelFormat::kSafetensors:
      return "safetensors";
  }
  return "?";
}

int layer_of(const std::string& name) {
  const auto parts = split_dots(name);
  for (std::string_view key : {"blk", "layers"})
    if (const int n = index_after(parts, key); n >= 0) return n;
  return index_after(parts, "h", "transformer");
}

ModelLayout load_layout(const std::string& path) {
  ModelLayout m;
  m.path = path;
  const std::string prefix = read_prefix(path, m.file_size);
  if (prefix.starts_with("GGUF")) {
    m.format = ModelFormat::kGguf;
    add_gguf(m);
  } else if (looks_like_safetensors(prefix, m.file_size)) {
    m.format = ModelFormat::kSafetensors;
    add_safetensors(m);
  } else {
    m.format = ModelFormat::kRaw;
    m.tensors.push_back({"data", 0, m.file_size, "U8", -1, -1});
  }
  std::stable_sort(m.tensors.begin(), m.tensors.end(),
                   [](const Tensor& a, const Tensor& b) { return a.offset < b.offset; });
  for (const auto& t : m.tensors) m.n_layers = std::max(m.n_layers, t.layer + 1);
  return m;
}

}  // namespace faultline
