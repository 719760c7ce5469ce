#include "harness/baseline_model.h"

#include <fmt/format.h>

#include <filesystem>
#include <stdexcept>

#include "datasets/generator.h"
#include "datasets/gguf.h"
#include "datasets/model_layout.h"

namespace faultline::harness {

std::string ensure_baseline_model(const std::string& model, const std::string& cache_dir) {
  const ModelLayout layout = load_layout(model);
  GenOptions g;
  g.format = layout.format;
  g.size = kBaselineModelBytes;
  g.seed = 1;
  std::string kind;
  switch (layout.format) {
    case ModelFormat::kGguf: {
      const GgufFile f = read_gguf(model);
      const GgufValue* arch = f.find("general.architecture");
      if (arch && arch->type == GgufType::kString) {
        if (arch->as_string() != "llama")
          throw std::invalid_argument(fmt::format(
              "--command-baseline: {} is a GGUF of architecture '{}'; faultline-gen imitates only "
              "'llama' (and architecture-less GGUF): no baseline model of the same kind",
              model, arch->as_string()));
        g.arch = "llama";
      }
      kind = g.arch.empty() ? "gguf" : "gguf-llama";
      break;
    }
    case ModelFormat::kSafetensors:
      kind = "safetensors";
      break;
    default:
      kind = "raw";
  }
  if (layout.file_size <= kBaselineModelBytes)
    throw std::invalid_argument(
        fmt::format("--command-baseline: {} is {} bytes, not more than the {} MiB baseline model",
                    model, layout.file_size, kBaselineModelBytes >> 20));
  const std::string ext = layout.format == ModelFormat::kGguf          ? "gguf"
                          : layout.format == ModelFormat::kSafetensors ? "safetensors"
                                                                       : "bin";
  std::filesystem::create_directories(cache_dir + "/models");
  g.out = fmt::format("{}/models/baseline-{}-4M.{}", cache_dir, kind, ext);
  return ensure_model(g).path;
}

}  // namespace faultline::harness
