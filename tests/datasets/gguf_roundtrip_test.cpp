// GGUF: what write_gguf_file() writes, read_gguf() reads back unchanged, laid
// out the way ggml's reader requires.
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

using test::TempDir;

// Every byte of tensor t at offset i is (t * 31 + i) mod 251.
std::byte pattern(std::size_t t, std::uint64_t i) {
  return static_cast<std::byte>((t * 31 + i) % 251);
}

void fill_pattern(std::size_t t, std::uint64_t offset, std::span<std::byte> out) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = pattern(t, offset + i);
}

GgufFile sample_file(std::uint32_t alignment) {
  GgufFile f;
  f.set("general.architecture", GgufValue::str("llama"));
  f.set("general.alignment", GgufValue::u32(alignment));
  f.set("t.u8", GgufValue::u8(200));
  f.set("t.i8", {GgufType::kInt8, {}, std::int64_t{-100}});
  f.set("t.u16", {GgufType::kUint16, {}, std::uint64_t{60000}});
  f.set("t.i16", {GgufType::kInt16, {}, std::int64_t{-30000}});
  f.set("t.u32", GgufValue::u32(4000000000u));
  f.set("t.i32", GgufValue::i32(-2000000000));
  f.set("t.f32", GgufValue::f32(0.1f));
  f.set("t.bool", GgufValue::boolean(true));
  f.set("t.u64", GgufValue::u64(1ULL << 63));
  f.set("t.i64", GgufValue::i64(-(1LL << 62)));
  f.set("t.f64", GgufValue::f64(3.141592653589793));
  f.set("t.empty_string", GgufValue::str(""));
  f.set("t.strings",
        GgufValue::array(GgufType::kString, {GgufValue::str("a"), GgufValue::str("\xe2\x96\x81"
                                                                                 "b")}));
  f.set("t.nested",
        GgufValue::array(GgufType::kArray, {GgufValue::array(GgufType::kInt32, {GgufValue::i32(1)}),
                                            GgufValue::array(GgufType::kInt32, {})}));
  f.tensors.push_back({"token_embd.weight", {64, 3}, kGgmlF32, 0, 0});
  f.tensors.push_back({"blk.0.attn_q.weight", {64, 5}, ggml_type("Q4_0")->id, 0, 0});
  f.tensors.push_back({"blk.0.ffn_up_exps.weight", {256, 2, 4}, ggml_type("Q4_K")->id, 0, 0});
  f.tensors.push_back({"output_norm.weight", {10}, kGgmlF16, 0, 0});
  return f;
}

TEST(GgufRoundTrip, KeysTensorsAndOffsetsSurvive) {
  for (std::uint32_t alignment : {32u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    TempDir dir;
    const std::string path = dir.file("model.gguf");
    GgufFile written = sample_file(alignment);
    write_gguf_file(path, written, fill_pattern);
    prepare_gguf(written);  // what the writer computed

    const GgufFile read = read_gguf(path);
    EXPECT_EQ(read.version, 3u);
    EXPECT_EQ(read.alignment, alignment);
    EXPECT_EQ(read.kv, written.kv);
    EXPECT_EQ(read.tensors, written.tensors);
    EXPECT_EQ(read.data_offset, written.data_offset);
    EXPECT_EQ(read.file_size, test::file_size(path));
    EXPECT_EQ(read.data_offset % alignment, 0u);
    EXPECT_FLOAT_EQ(static_cast<float>(read.find("t.f32")->as_float()), 0.1f);
    EXPECT_EQ(read.find("t.i8")->as_int(), -100);

    // Offsets: the running sum of the sizes padded to the alignment.
    std::uint64_t expected = 0;
    for (const auto& t : read.tensors) {
      EXPECT_EQ(t.offset, expected) << t.name;
      expected += (t.bytes + alignment - 1) / alignment * alignment;
    }
    EXPECT_EQ(read.file_size, read.data_offset + expected);
    EXPECT_EQ(read.tensors[0].bytes, 64u * 3 * 4);
    EXPECT_EQ(read.tensors[1].bytes, 2u * 5 * 18);       // Q4_0: 18 bytes per 32
    EXPECT_EQ(read.tensors[2].bytes, 1u * 2 * 4 * 144);  // Q4_K: 144 bytes per 256
    EXPECT_EQ(read.tensors[3].bytes, 20u);

    const std::string bytes = test::read_file(path);
    for (std::size_t t = 0; t < read.tensors.size(); ++t) {
      const auto& info = read.tensors[t];
      for (std::uint64_t i = 0; i < info.bytes; ++i)
        ASSERT_EQ(static_cast<std::byte>(bytes[read.data_offset + info.offset + i]), pattern(t, i))
            << info.name << " byte " << i;
    }
  }
}

TEST(GgufRoundTrip, WriterRefusesWhatGgmlWouldReject) {
  TempDir dir;
  const auto write = [&](GgufFile f) { write_gguf_file(dir.file("x.gguf"), f, fill_pattern); };
  GgufFile long_name;
  long_name.tensors.push_back({std::string(64, 'n'), {4}, kGgmlF32, 0, 0});
  EXPECT_THROW(write(long_name), std::invalid_argument);
  GgufFile odd_block;
  odd_block.tensors.push_back({"q", {48}, 2 /* Q4_0 */, 0, 0});
  EXPECT_THROW(write(odd_block), std::invalid_argument);
  GgufFile duplicate;
  duplicate.tensors.push_back({"a", {4}, kGgmlF32, 0, 0});
  duplicate.tensors.push_back({"a", {4}, kGgmlF32, 0, 0});
  EXPECT_THROW(write(duplicate), std::invalid_argument);
  GgufFile bad_alignment;
  bad_alignment.set("general.alignment", GgufValue::u32(48));
  EXPECT_THROW(write(bad_alignment), std::invalid_argument);
  EXPECT_FALSE(test::exists(dir.file("x.gguf")));
}

TEST(GgufRoundTrip, EmptyFileHasOnlyAHeader) {
  TempDir dir;
  const std::string path = dir.file("empty.gguf");
  write_gguf_file(path, GgufFile{}, fill_pattern);
  const GgufFile read = read_gguf(path);
  EXPECT_TRUE(read.kv.empty());
  EXPECT_TRUE(read.tensors.empty());
}

TEST(GgmlTypes, TableMatchesGgml) {
  EXPECT_EQ(ggml_type(0u)->name, "F32");
  EXPECT_EQ(ggml_type(8u)->type_size, 34u);     // Q8_0
  EXPECT_EQ(ggml_type(14u)->block_size, 256u);  // Q6_K
  EXPECT_EQ(ggml_type(30u)->name, "BF16");
  EXPECT_FALSE(ggml_type(4u).has_value());  // Q4_2, removed
  EXPECT_FALSE(ggml_type(1000u).has_value());
}

}  // namespace
}  // namespace faultline
