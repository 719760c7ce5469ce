#include "datasets/model_shape.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace faultline {

std::uint64_t TensorSpec::bytes() const {
  std::uint64_t n = f32 ? 4 : 2;
  for (auto d : dims) n *= d;
  return n;
}

std::vector<TensorSpec> gguf_tensors(const ModelShape& s) {
  const std::uint64_t n = s.n_embd, kv = s.n_head_kv * s.head_dim(), ff = s.n_ff;
  const std::uint64_t e = static_cast<std::uint64_t>(s.n_experts);
  std::vector<TensorSpec> t;
  t.push_back({"token_embd.weight", {n, s.n_vocab}});
  for (int l = 0; l < s.n_layers; ++l) {
    const auto blk = [l](const char* name) { return fmt::format("blk.{}.{}.weight", l, name); };
    t.push_back({blk("attn_norm"), {n}, true});
    t.push_back({blk("attn_q"), {n, n}});
    t.push_back({blk("attn_k"), {n, kv}});
    t.push_back({blk("attn_v"), {n, kv}});
    t.push_back({blk("attn_output"), {n, n}});
    t.push_back({blk("ffn_norm"), {n}, true});
    if (e == 0) {
      t.push_back({blk("ffn_gate"), {n, ff}});
      t.push_back({blk("ffn_up"), {n, ff}});
      t.push_back({blk("ffn_down"), {ff, n}});
    } else {
      t.push_back({blk("ffn_gate_inp"), {n, e}, true});
      t.push_back({blk("ffn_gate_exps"), {n, ff, e}});
      t.push_back({blk("ffn_up_exps"), {n, ff, e}});
      t.push_back({blk("ffn_down_exps"), {ff, n, e}});
    }
  }
  t.push_back({"output_norm.weight", {n}, true});
  t.push_back({"output.weight", {n, s.n_vocab}});
  return t;
}

std::vector<TensorSpec> hf_tensors(const ModelShape& s) {
  const std::uint64_t n = s.n_embd, kv = s.n_head_kv * s.head_dim(), ff = s.n_ff;
  std::vector<TensorSpec> t;
  t.push_back({"model.embed_tokens.weight", {n, s.n_vocab}});
  for (int l = 0; l < s.n_layers; ++l) {
    const auto layer = [l](const std::string& name) {
      return fmt::format("model.layers.{}.{}.weight", l, name);
    };
    t.push_back({layer("input_layernorm"), {n}, true});
    t.push_back({layer("self_attn.q_proj"), {n, n}});
    t.push_back({layer("self_attn.k_proj"), {n, kv}});
    t.push_back({layer("self_attn.v_proj"), {n, kv}});
    t.push_back({layer("self_attn.o_proj"), {n, n}});
    t.push_back({layer("post_attention_layernorm"), {n}, true});
    if (s.n_experts == 0) {
      t.push_back({layer("mlp.gate_proj"), {n, ff}});
      t.push_back({layer("mlp.up_proj"), {n, ff}});
      t.push_back({layer("mlp.down_proj"), {ff, n}});
      continue;
    }
    t.push_back({layer("mlp.gate"), {n, static_cast<std::uint64_t>(s.n_experts)}, true});
    for (int x = 0; x < s.n_experts; ++x) {
      const auto expert = [&](const char* name) {
        return layer(fmt::format("mlp.experts.{}.{}", x, name));
      };
      t.push_back({expert("gate_proj"), {n, ff}});
      t.push_back({expert("up_proj"), {n, ff}});
      t.push_back({expert("down_proj"), {ff, n}});
    }
  }
  t.push_back({"model.norm.weight", {n}, true});
  t.push_back({"lm_head.weight", {n, s.n_vocab}});
  return t;
}

int default_layers(std::uint64_t bytes) {
  constexpr std::uint64_t kMiB = 1 << 20;
  if (bytes < 256 * kMiB) return 8;
  if (bytes < 1024 * kMiB) return 16;
  if (bytes < 4096 * kMiB) return 24;
  return 32;
}

std::uint64_t estimate_n_embd(std::uint64_t bytes, int layers, int experts) {
  // Per layer (F16): 4 n^2 attention + 3 * n * ff per expert with ff ~ 8/3 n.
  const double per_n2 = 2.0 * (4.0 + 8.0 * std::max(experts, 1));
  const double n = std::sqrt(0.88 * static_cast<double>(bytes) / (per_n2 * std::max(layers, 1)));
  return std::max<std::uint64_t>(64, static_cast<std::uint64_t>(n) / 64 * 64);
}

}  // namespace faultline
