// The synthetic model generator behind faultline-gen: a transformer-shaped
// GGUF or safetensors file (or raw bytes) of a requested total size, filled
// with seeded incompressible pseudorandom data, written atomically (see
// output_file.h) in 8 MiB sequential blocks and fsynced.
#pragma once

#include "datasets/model_layout.h"
#include "datasets/model_shape.h"

#include <cstdint>
#include <string>

namespace faultline {

struct GenOptions {
  ModelFormat format = ModelFormat::kGguf;
  std::uint64_t size = 0;  // requested total file size in bytes
  int layers = 0;          // 0: default_layers(size)
  int experts = 0;         // 0: dense FFN; E: E experts per layer
  std::string arch;        // "" or "llama" (GGUF only): llama.cpp-loadable metadata + tokenizer
  std::uint64_t seed = 0;
  std::string out;        // final path
  bool force = false;     // overwrite an existing file
  bool progress = false;  // progress on stderr for files over 256 MiB
};

struct GenPlan {
  ModelShape shape;         // zeroed for raw
  std::uint64_t bytes = 0;  // exact size of the file that will be written
  // The file is at most this much smaller than requested: the GGUF alignment
  // (32), 8 bytes for safetensors, 0 for raw. The remainder the tensor shapes
  // leave goes into GGUF metadata (faultline.padding) or safetensors header spaces.
  std::uint64_t tolerance = 0;
  std::uint64_t gguf_padding = 0;  // length of faultline.padding
};

struct GenResult {
  std::string path;
  GenPlan plan;
  double seconds = 0;  // generation + write + fsync
};

// Throws std::invalid_argument for impossible options (size too small for the
// layers, --arch with a non-GGUF format, ...).
GenPlan plan_model(const GenOptions& options);

// Writes the model. Throws std::runtime_error (or std::system_error) on
// failure, Interrupted when a handled signal arrives (interrupt.h); in every
// failure case no file is left at options.out or at its temp name.
GenResult generate_model(const GenOptions& options);

// For the benchmarks and tests: returns the model at options.out if it already
// exists with the planned size and a readable layout, else generates it
// (replacing whatever was there).
GenResult ensure_model(const GenOptions& options);

// "gguf" / "safetensors" / "raw"; throws std::invalid_argument otherwise.
ModelFormat parse_model_format(const std::string& text);

}  // namespace faultline
