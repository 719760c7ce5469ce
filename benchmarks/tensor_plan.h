// Which tensors a llama.cpp-like loader touches, and in which order: the
// order llama_model_loader creates them in (and so load_all_data walks them),
// the order of its no-mmap reads, and the tensors its CPU backend repacks
// into anonymous buffers on this kind of host (copy=repack).
#pragma once

#include <vector>

#include "benchmarks/strategy.h"
#include "datasets/model_layout.h"

namespace faultline {

// llama.cpp's CPU backend on an AMX host (node-llama-cpp 3.22.1, measured):
// the AMX extra buffer type (ggml/src/ggml-cpu/amx/amx.cpp, supports_op) takes
// 2-D weights used by MUL_MAT (not token_embd: GET_ROWS; not MoE expert
// stacks: MUL_MAT_ID) of type F16 or a type with AMX kernels (Q4_0, Q4_1,
// Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS) whose output rows are a multiple of 32
// (TILE_N * 2). A tensor without dims (raw files) is never selected.
bool repack_selected(const Tensor& t);

// The tensors in llama.cpp's creation order for a llama-like model
// (llm_build / load_tensors: token_embd, output_norm, output, then per layer
// attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_down, ffn_up); names it does not know keep their file order within
// their layer. Empty tensors are left out.
std::vector<const Tensor*> creation_order(const ModelLayout& layout);

// llama.cpp --no-mmap's read order (load_all_data): the tensors of non-host
// (repacked) buffers first, biggest first (a stable sort over the creation
// order), then the rest in creation order.
std::vector<const Tensor*> no_mmap_read_order(const ModelLayout& layout);

// The tensors a copy step copies, in creation order: every tensor for
// copy=all, the repack_selected() ones for copy=repack.
std::vector<const Tensor*> copied_tensors(const ModelLayout& layout, CopyMode mode);

}  // namespace faultline
