// safetensors header reader (read_safetensors) and load_layout, on arbitrary bytes.
#include "datasets/safetensors.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/layout_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::MemFile file;
  const std::string& path = file.write(data, size);
  faultline::fuzz::expect_documented_errors([&] {
    faultline::SafetensorsFile s = faultline::read_safetensors(path);
    if (s.data_offset > s.file_size)
      faultline::fuzz::finding("safetensors data_offset past the end");
    for (const auto& t : s.tensors)
      if (t.begin > t.end || t.end > s.file_size - s.data_offset)
        faultline::fuzz::finding("safetensors tensor range outside the data");
  });
  faultline::fuzz::check_layout(path);
  return 0;
}
