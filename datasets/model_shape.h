// The shape of a synthetic transformer and its tensor list, in GGUF (llama.cpp)
// and safetensors (Hugging Face) naming.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

struct ModelShape {
  int n_layers = 0;
  int n_experts = 0;       // 0 = dense FFN
  int n_experts_used = 0;  // experts per token (MoE only)
  std::uint64_t n_embd = 0;
  std::uint64_t n_ff = 0;  // FFN width (per expert for MoE)
  std::uint64_t n_vocab = 0;
  std::uint64_t n_head = 0;
  std::uint64_t n_head_kv = 0;
  std::uint64_t head_dim() const { return n_head == 0 ? 0 : n_embd / n_head; }
};

// One tensor of the synthetic model. dims are innermost first (ggml order);
// safetensors shapes are the reverse.
struct TensorSpec {
  std::string name;
  std::vector<std::uint64_t> dims;
  bool f32 = false;  // norms (and the MoE router) are F32, weights F16
  std::uint64_t bytes() const;
};

// token_embd, per layer attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down
// (or ffn_gate_inp + ffn_{gate,up,down}_exps of dims {.., .., n_expert}),
// output_norm, output: llama.cpp's names and shapes for the llama architecture.
std::vector<TensorSpec> gguf_tensors(const ModelShape& shape);
// The same model with Hugging Face llama names ("model.layers.N.self_attn.q_proj.weight";
// MoE experts as "model.layers.N.mlp.experts.E.gate_proj.weight").
std::vector<TensorSpec> hf_tensors(const ModelShape& shape);

// Layers for a model of `bytes` when the user gives none: 8 below 256 MiB,
// 16 below 1 GiB, 24 below 4 GiB, 32 from 4 GiB.
int default_layers(std::uint64_t bytes);

// n_embd (multiple of 64, head_dim 64 or 128) for `bytes` spread over the
// layers, leaving ~12% for the embedding and output head.
std::uint64_t estimate_n_embd(std::uint64_t bytes, int layers, int experts);

}  // namespace faultline
