// The folder a harness test suite shares: /var/tmp/<prefix>-XXXXXX (a disk,
// not tmpfs: readahead and O_DIRECT behave as on a real model) holding
// model.gguf, and the environment that makes `faultline run` use this build's
// executables and a private model cache inside it.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "datasets/generator.h"

namespace faultline::harness::testing {

inline std::string make_suite_folder(const std::string& prefix, std::uint64_t model_bytes,
                                     std::uint64_t seed) {
  std::string t = "/var/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp " + t + " failed");
  GenOptions g;
  g.format = ModelFormat::kGguf;
  g.size = model_bytes;
  g.seed = seed;
  g.out = t + "/model.gguf";
  ensure_model(g);
  ::setenv("FAULTLINE_BENCH", FAULTLINE_BENCH_EXE, 1);
  ::setenv("FAULTLINE_HOLD", FAULTLINE_HOLD_EXE, 1);
  ::setenv("FAULTLINE_CACHE_DIR", (t + "/cache").c_str(), 1);
  return t;
}

}  // namespace faultline::harness::testing
