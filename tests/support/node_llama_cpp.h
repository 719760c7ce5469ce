// The real llama.cpp the tests run: node-llama-cpp and our loader script
// (programs/node-llama-cpp/load.mjs), where scripts/setup installs them.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "common/process.h"
#include "datasets/generator.h"

namespace faultline::testing {

// $FAULTLINE_PROGRAMS_DIR/node-llama-cpp, default ~/.cache/faultline/programs/node-llama-cpp.
inline std::string node_llama_cpp_dir() {
  if (const char* d = std::getenv("FAULTLINE_PROGRAMS_DIR"))
    return std::string(d) + "/node-llama-cpp";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.cache/faultline/programs/node-llama-cpp";
}

// Why a test cannot run it here (for GTEST_SKIP), or nullopt.
inline std::optional<std::string> node_llama_cpp_missing() {
  namespace fs = std::filesystem;
  const std::string d = node_llama_cpp_dir();
  if (!fs::exists(d + "/load.mjs") || !fs::exists(d + "/node_modules/node-llama-cpp"))
    return "node-llama-cpp is not installed in " + d +
           " (scripts/setup installs it with npm; node/npm or the registry were missing)";
  if (find_program("node").empty()) return "node is not in PATH";
  return std::nullopt;
}

// A `faultline-gen --arch llama` GGUF of `size` bytes at `path` (the model
// load.mjs loads), made once.
inline std::string llama_gguf(const std::string& path, std::uint64_t size, std::uint64_t seed) {
  GenOptions g;
  g.format = ModelFormat::kGguf;
  g.arch = "llama";
  g.size = size;
  g.seed = seed;
  g.out = path;
  ensure_model(g);
  return path;
}

// Test names for INSTANTIATE_TEST_SUITE_P over load.mjs's modes ("no-mmap" ->
// "no_mmap").
struct ModeName {
  template <class Info>
  std::string operator()(const Info& info) const {
    std::string n = info.param;
    for (char& c : n)
      if (c == '-') c = '_';
    return n;
  }
};

}  // namespace faultline::testing
