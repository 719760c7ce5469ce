// ModelLayout: the tensors of a model file (GGUF, safetensors or raw), with
// byte ranges relative to the start of the file. Every access pattern and
// report works on this; the format readers only produce it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

enum class ModelFormat { kRaw, kGguf, kSafetensors };

// "raw", "gguf", "safetensors"
const char* to_string(ModelFormat f);

struct Tensor {
  std::string name;      // "blk.3.attn_q.weight"; an expert slice gets "[e]" appended
  std::uint64_t offset;  // absolute byte offset in the file
  std::uint64_t bytes;   // byte size of the tensor data (or of the expert slice)
  std::string dtype;     // "F32", "F16", "BF16", "Q4_0", ... ("U8" for raw)
  int layer = -1;        // from "blk.N." / "model.layers.N." / "layers.N."; -1 = not in a layer
  int expert = -1;       // expert index for MoE expert slices; -1 = dense
  std::vector<std::uint64_t> dims;  // innermost first (ggml's ne[]; safetensors' shape reversed)
};

struct ModelLayout {
  std::string path;
  ModelFormat format = ModelFormat::kRaw;
  std::uint64_t file_size = 0;
  std::uint64_t data_offset = 0;  // start of the tensor data region
  std::vector<Tensor> tensors;    // sorted by offset, non-overlapping
  int n_layers = 0;               // max layer index + 1
  int n_experts = 0;              // experts per MoE layer (0 = dense model)
};

// Detect the format from the file's contents (GGUF magic, safetensors header),
// falling back to raw (one tensor covering the whole file). Throws
// faultline::FormatError on a malformed GGUF/safetensors file.
ModelLayout load_layout(const std::string& path);

// The layer index encoded in a tensor name, or -1.
int layer_of(const std::string& name);

}  // namespace faultline
