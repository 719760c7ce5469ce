#include "benchmarks/tensor_plan.h"

#include <algorithm>
#include <array>
#include <span>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/cpu_flags.h"

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

constexpr std::array<std::string_view, 8> kAmxTypes = {"F16",  "Q4_0", "Q4_1", "Q8_0",
                                                       "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"};

bool one_of(std::string_view dtype, std::span<const std::string_view> types) {
  return std::find(types.begin(), types.end(), dtype) != types.end();
}

constexpr std::array<std::string_view, 3> kAvx2RepackTypes = {"Q4_0", "Q4_K", "IQ4_NL"};
constexpr std::string_view kAvx512RepackType = "Q2_K";

bool amx_selected(const Tensor& t) {
  return t.dims.size() == 2 && t.expert < 0 && one_of(t.dtype, kAmxTypes) && t.dims[1] % 32 == 0;
}

// No allocation: the no-mmap order asks this in its sort, inside the timed load.
bool cpu_repack_selected(const Tensor& t, const RepackCpu& cpu) {
  const bool type = (cpu.avx2 && one_of(t.dtype, kAvx2RepackTypes)) ||
                    (cpu.avx512 && t.dtype == kAvx512RepackType);
  return type && t.dims.size() >= 2 && t.dims[1] % 8 == 0;
}

}  // namespace

const RepackCpu& host_repack_cpu() {
  static const RepackCpu cpu = [] {
    RepackCpu c;
    if (const auto flags = cpu_flags()) {
      c.amx = flags->contains("amx_int8") && flags->contains("amx_tile");
      c.avx2 = flags->contains("avx2");
      c.avx512 = flags->contains("avx512f");
    }
    return c;
  }();
  return cpu;
}

std::string describe(const RepackCpu& cpu) {
  std::vector<std::string> parts;
  if (cpu.amx) parts.push_back(fmt::format("AMX: {}", fmt::join(kAmxTypes, ", ")));
  std::vector<std::string_view> types;
  if (cpu.avx2) types.assign(kAvx2RepackTypes.begin(), kAvx2RepackTypes.end());
  if (cpu.avx512) types.push_back(kAvx512RepackType);
  if (!types.empty()) parts.push_back(fmt::format("CPU_REPACK: {}", fmt::join(types, ", ")));
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, "; "));
}

bool repack_selected(const Tensor& t, const RepackCpu& cpu) {
  std::string_view name = t.name;
  if (name.starts_with("token_embd.") || name.find("embed_tokens") != std::string_view::npos)
    return false;
  return (cpu.amx && amx_selected(t)) || cpu_repack_selected(t, cpu);
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

std::vector<const Tensor*> no_mmap_read_order(const ModelLayout& layout, const RepackCpu& cpu) {
  std::vector<const Tensor*> out = creation_order(layout);
  std::stable_sort(out.begin(), out.end(), [&cpu](const Tensor* a, const Tensor* b) {
    bool sa = repack_selected(*a, cpu), sb = repack_selected(*b, cpu);
    if (sa != sb) return sa;
    return sa && a->bytes > b->bytes;
  });
  return out;
}

std::vector<const Tensor*> copied_tensors(const ModelLayout& layout, CopyMode mode,
                                          const RepackCpu& cpu) {
  std::vector<const Tensor*> out;
  for (const Tensor* t : creation_order(layout))
    if (mode == CopyMode::kAll || repack_selected(*t, cpu)) out.push_back(t);
  return out;
}

}  // namespace faultline
