// GGUF header reader (read_gguf) and the format detection + layout built on
// it (load_layout), on arbitrary bytes.
#include "datasets/gguf.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/layout_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::MemFile file;
  const std::string& path = file.write(data, size);
  faultline::fuzz::expect_documented_errors([&] {
    faultline::GgufFile g = faultline::read_gguf(path);
    // What the reader accepted must be self-consistent.
    // (A file without tensors may end before the aligned data start: allowed.)
    if (!g.tensors.empty() && g.data_offset > g.file_size)
      faultline::fuzz::finding("gguf data_offset past the end");
    for (const auto& t : g.tensors) {
      if (t.offset > g.file_size || t.bytes > g.file_size - g.data_offset ||
          t.offset > g.file_size - g.data_offset - t.bytes)
        faultline::fuzz::finding("gguf tensor past the end of the file");
    }
  });
  faultline::fuzz::check_layout(path);
  return 0;
}
