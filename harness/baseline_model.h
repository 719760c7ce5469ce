// --command-baseline's tiny model: the same kind as the run's model (format,
// and for GGUF the llama architecture's metadata when the model has it),
// 4 MiB, generated once into the model cache folder by datasets/ (what
// faultline-gen writes) and reused.
#pragma once

#include <cstdint>
#include <string>

namespace faultline::harness {

inline constexpr std::uint64_t kBaselineModelBytes = 4ull << 20;

// Its path (generated now when missing). Throws std::invalid_argument when
// faultline-gen cannot imitate the model (a GGUF of another architecture, a
// model this small already), naming the model and why.
std::string ensure_baseline_model(const std::string& model, const std::string& cache_dir);

}  // namespace faultline::harness
