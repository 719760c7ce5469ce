#include "benchmarks/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "common/size.h"
#include "datasets/generator.h"

namespace faultline {

std::string cache_dir() {
  if (const char* d = std::getenv("FAULTLINE_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/faultline";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/faultline";
  return "/var/tmp/faultline";
}

std::string ensure_default_model(std::uint64_t size, bool quiet, const std::string& cache) {
  std::filesystem::path dir = std::filesystem::path(cache.empty() ? cache_dir() : cache) / "models";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create the model cache folder " + dir.string() + ": " +
                             ec.message());
  GenOptions o;
  o.format = ModelFormat::kGguf;
  o.size = size;
  o.seed = 42;
  o.out = (dir / ("default-" + format_size(size) + ".gguf")).string();
  o.progress = !quiet;
  return ensure_model(o).path;
}

}  // namespace faultline
