// copy and reclaim: after mapping, copy tensors into one anonymous buffer
// (llama.cpp's load_all_data copying the tensors of its repack/AMX buffer
// types out of the mapping with ggml_backend_tensor_set; safetensors'
// load_file and PyTorch copying every tensor), then optionally release the
// mapped source of what was copied (llama.cpp --reclaim-mmap-source).
#include <sys/mman.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "benchmarks/loaders.h"
#include "benchmarks/tensor_plan.h"

namespace faultline::detail {
namespace {

constexpr std::uint64_t kAlign = 64;  // ggml's TENSOR_ALIGNMENT
constexpr std::uint64_t kPage = 4096;

std::uint64_t round_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace

void copy_tensors(Mapping& m, const Strategy& s, const ModelLayout& layout,
                  const std::string& path) {
  std::vector<const Tensor*> tensors = copied_tensors(layout, *s.copy);
  std::uint64_t total = 0;
  for (const Tensor* t : tensors) total += round_up(t->bytes, kAlign);
  if (total == 0) return;
  // One buffer for all of them, as ggml allocates one backend buffer per
  // buffer type (ggml_backend_cpu_buffer_type: an aligned malloc).
  void* raw = nullptr;
  if (int rc = ::posix_memalign(&raw, kAlign, total); rc != 0)
    throw std::system_error(
        rc, std::generic_category(),
        fmt::format("{}: cannot allocate {} bytes to copy tensors into", path, total));
  auto* buf = static_cast<std::uint8_t*>(raw);
  m.adopt_copy(buf, total);
  std::uint64_t at = 0;
  for (const Tensor* t : tensors) {
    if (t->offset + t->bytes > m.size())
      throw std::runtime_error(path + ": tensor " + t->name + " ends past the end of the file");
    std::memcpy(buf + at, m.data() + t->offset, t->bytes);
    at += round_up(t->bytes, kAlign);
  }
  if (!s.reclaim || !m.is_mmap()) return;
  // The whole pages inside each copied tensor (rounded inward, as the PR does):
  // the file pages leave this process's RSS; the page cache keeps them.
  for (const Tensor* t : tensors) {
    std::uint64_t b = round_up(t->offset, kPage);
    std::uint64_t e = (t->offset + t->bytes) / kPage * kPage;
    if (e <= b) continue;
    auto* addr = const_cast<std::uint8_t*>(m.data()) + b;
    if (::madvise(addr, e - b, MADV_DONTNEED) != 0) {
      int err = errno;
      throw std::system_error(err, std::generic_category(),
                              fmt::format("madvise({}, dontneed) of a copied tensor's source "
                                          "[{}, {})",
                                          path, b, e));
    }
  }
}

}  // namespace faultline::detail
