#include "benchmarks/tensor_plan.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace faultline {
namespace {

// Position of a tensor's role in llama.cpp's creation order.
int role_rank(std::string_view name) {
  static constexpr std::array<std::string_view, 3> kGlobal = {"token_embd.", "output_norm.",
                                                              "output."};
  static constexpr std::array<std::string_view, 9> kLayer = {
      "attn_norm.", "attn_q.",   "attn_k.",   "attn_v.", "attn_output.",
      "ffn_norm.",  "ffn_gate.", "ffn_down.", "ffn_up."};
  if (name.starts_with("blk.")) {
    auto dot = name.find('.', 4);
    std::string_view role = dot == std::string_view::npos ? name : name.substr(dot + 1);
    for (std::size_t i = 0; i < kLayer.size(); ++i)
      if (role.starts_with(kLayer[i])) return static_cast<int>(i);
    return static_cast<int>(kLayer.size());
  }
  for (std::size_t i = 0; i < kGlobal.size(); ++i)
    if (name.starts_with(kGlobal[i])) return static_cast<int>(i);
  return static_cast<int>(kGlobal.size());
}

bool has_amx_kernels(std::string_view dtype) {
  for (std::string_view t : {"F16", "Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    if (dtype == t) return true;
  return false;
}

}  // namespace

bool repack_selected(const Tensor& t) {
  if (t.dims.size() != 2 || t.expert >= 0 || !has_amx_kernels(t.dtype)) return false;
  std::string_view name = t.name;
  if (name.starts_with("token_embd.") || name.find("embed_tokens") != std::string_view::npos)
    return false;
  return t.dims[1] % 32 == 0;
}

std::vector<const Tensor*> creation_order(const ModelLayout& layout) {
  std::vector<const Tensor*> out;
  for (const auto& t : layout.tensors)
    if (t.bytes > 0) out.push_back(&t);
  // Globals (layer -1) before the layers; stable keeps file order within a role.
  std::stable_sort(out.begin(), out.end(), [](const Tensor* a, const Tensor* b) {
    if (a->layer != b->layer) return a->layer < b->layer;
    return role_rank(a->name) < role_rank(b->name);
  });
  return out;
}

std::vector<const Tensor*> no_mmap_read_order(const ModelLayout& layout) {
  std::vector<const Tensor*> out = creation_order(layout);
  std::stable_sort(out.begin(), out.end(), [](const Tensor* a, const Tensor* b) {
    bool sa = repack_selected(*a), sb = repack_selected(*b);
    if (sa != sb) return sa;
    return sa && a->bytes > b->bytes;
  });
  return out;
}

std::vector<const Tensor*> copied_tensors(const ModelLayout& layout, CopyMode mode) {
  std::vector<const Tensor*> out;
  for (const Tensor* t : creation_order(layout))
    if (mode == CopyMode::kAll || repack_selected(*t)) out.push_back(t);
  return out;
}

}  // namespace faultline
