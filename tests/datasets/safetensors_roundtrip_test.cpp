// safetensors: what write_safetensors_file() writes, read_safetensors() reads
// back unchanged, with the header padded to 8 bytes as huggingface does.
#include "datasets/safetensors.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

void fill_index(std::size_t t, std::uint64_t offset, std::span<std::byte> out) {
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>((t + 1) * 7 + (offset + i) % 13);
}

TEST(SafetensorsRoundTrip, HeaderTensorsAndDataSurvive) {
  test::TempDir dir;
  const std::string path = dir.file("model.safetensors");
  SafetensorsFile written;
  written.metadata = {{"format", "pt"}, {"note", "quotes \" and \\ survive"}};
  written.tensors = {
      {"model.embed_tokens.weight", "F16", {10, 4}, 0, 0},
      {"model.layers.0.mlp.experts.1.up_proj.weight", "BF16", {3, 4}, 0, 0},
      {"model.norm.weight", "F32", {4}, 0, 0},
      {"scalar", "I64", {}, 0, 0},
      {"empty", "U8", {0}, 0, 0},
  };
  write_safetensors_file(path, written, fill_index);
  prepare_safetensors(written);

  const SafetensorsFile read = read_safetensors(path);
  EXPECT_EQ(read.metadata, written.metadata);
  EXPECT_EQ(read.tensors, written.tensors);
  EXPECT_EQ(read.header_length % 8, 0u);
  EXPECT_EQ(read.data_offset, 8 + read.header_length);
  EXPECT_EQ(read.file_size, test::file_size(path));
  EXPECT_EQ(read.tensors[0].bytes(), 80u);
  EXPECT_EQ(read.tensors[3].bytes(), 8u);

  const std::string bytes = test::read_file(path);
  EXPECT_EQ(bytes[8], '{');
  EXPECT_EQ(bytes[read.data_offset - 1] == ' ' || bytes[read.data_offset - 1] == '}', true);
  for (std::size_t t = 0; t < read.tensors.size(); ++t)
    for (std::uint64_t i = 0; i < read.tensors[t].bytes(); ++i)
      ASSERT_EQ(static_cast<unsigned char>(bytes[read.data_offset + read.tensors[t].begin + i]),
                static_cast<unsigned char>((t + 1) * 7 + i % 13));
}

TEST(SafetensorsRoundTrip, ExtraPaddingKeepsEightByteAlignment) {
  SafetensorsFile f;
  f.tensors = {{"w", "F32", {2}, 0, 0}};
  prepare_safetensors(f);
  const std::uint64_t plain = f.header_length;
  prepare_safetensors(f, 21);
  EXPECT_EQ(f.header_length, plain + 16);
  EXPECT_EQ(safetensors_header_bytes(f).size(), 8 + f.header_length);
}

TEST(SafetensorsRoundTrip, WriterRefusesUnknownDtype) {
  SafetensorsFile f;
  f.tensors = {{"w", "F7", {2}, 0, 0}};
  EXPECT_THROW(prepare_safetensors(f), std::invalid_argument);
}

}  // namespace
}  // namespace faultline
