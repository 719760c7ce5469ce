// Which tensors a llama.cpp-like loader touches, and in which order: the
// order llama_model_loader creates them in (and so load_all_data walks them),
// the order of its no-mmap reads, and the tensors its CPU backend repacks
// into anonymous buffers on this host's CPU (copy=repack).
#pragma once

#include <string>
#include <vector>

#include "benchmarks/strategy.h"
#include "datasets/model_layout.h"

namespace faultline {

// What llama.cpp's CPU backend can repack on a CPU: the extra buffer types
// ggml-cpu offers (ggml_backend_cpu_get_extra_buffer_types: AMX first, then
// CPU_REPACK) depend on its features.
struct RepackCpu {
  bool amx = false;     // AMX-INT8 and AMX tiles (amx_int8, amx_tile)
  bool avx2 = false;    // avx2
  bool avx512 = false;  // avx512f
};

// This host's, from /proc/cpuinfo (read once; none when it cannot be read).
const RepackCpu& host_repack_cpu();

// "AMX: F16, Q4_0, ...; AVX2: ..." or "none": what a copy=repack copies here.
std::string describe(const RepackCpu& cpu);

// Whether llama.cpp's weight selection (select_weight_buft: the first buffer
// type whose supports_op takes the tensor's MUL_MAT) puts the tensor in an
// extra buffer, which is not host memory, so a mapped load copies it out:
//   AMX (ggml/src/ggml-cpu/amx/amx.cpp, supports_op): 2-D weights of type F16
//   or with AMX kernels (Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS) whose
//   output rows are a multiple of 32 (TILE_N * 2); measured with
//   node-llama-cpp 3.22.1 on an AMX Xeon (the F16 weights resident twice).
//   CPU_REPACK (ggml/src/ggml-cpu/repack.cpp,
//   ggml_repack_get_optimal_repack_type): Q4_0, Q4_K and IQ4_NL with AVX2,
//   Q2_K with AVX-512, rows a multiple of 8, 2-D weights and MoE expert
//   stacks (MUL_MAT_ID); source only (F16 is not repacked: on an AMD EPYC
//   without AMX node-llama-cpp keeps an F16 model mapped, anon +18 MiB for a
//   256 MiB model).
// Never token_embd (GET_ROWS) or a tensor without dims (raw files).
bool repack_selected(const Tensor& t, const RepackCpu& cpu = host_repack_cpu());

// The tensors in llama.cpp's creation order for a llama-like model
// (llm_build / load_tensors: token_embd, output_norm, output, then per layer
// attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_down, ffn_up); names it does not know keep their file order within
// their layer. Empty tensors are left out.
std::vector<const Tensor*> creation_order(const ModelLayout& layout);

// llama.cpp --no-mmap's read order (load_all_data): the tensors of non-host
// (repacked) buffers first, biggest first (a stable sort over the creation
// order), then the rest in creation order.
std::vector<const Tensor*> no_mmap_read_order(const ModelLayout& layout,
                                              const RepackCpu& cpu = host_repack_cpu());

// The tensors a copy step copies, in creation order: every tensor for
// copy=all, the repack_selected() ones for copy=repack.
std::vector<const Tensor*> copied_tensors(const ModelLayout& layout, CopyMode mode,
                                          const RepackCpu& cpu = host_repack_cpu());

}  // namespace faultline
