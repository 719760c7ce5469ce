// Shared by the model-file fuzz targets: whatever ModelLayout the reader
// accepts must lie inside the file.
#pragma once

#include <string>

#include "datasets/model_layout.h"
#include "tests/fuzz/fuzz_support.h"

namespace faultline::fuzz {

inline void check_layout(const std::string& path) {
  expect_documented_errors([&] {
    ModelLayout m = load_layout(path);
    for (const auto& t : m.tensors)
      if (t.offset > m.file_size || t.bytes > m.file_size - t.offset)
        finding("layout tensor past the end of the file");
  });
}

}  // namespace faultline::fuzz
