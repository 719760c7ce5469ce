// The corrupt-GGUF corpus: each malformed file is rejected with its own
// FormatError, naming the file and the byte offset of the bad field.
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

using test::put_u32;
using test::put_u64;
using test::rejects;

constexpr std::size_t kTensorCountAt = 8;
constexpr std::size_t kKvCountAt = 16;
constexpr std::size_t kFirstKvAt = 24;

class CorruptGguf : public ::testing::Test {
 protected:
  // A valid two-tensor file (no KVs), as bytes.
  std::string valid() {
    GgufFile f;
    f.tensors.push_back({"a", {8}, kGgmlF32, 0, 0});  // 32 bytes at 0
    f.tensors.push_back({"b", {8}, kGgmlF32, 0, 0});  // 32 bytes at 32
    write_gguf_file(path_, f, [](std::size_t, std::uint64_t, std::span<std::byte> out) {
      std::fill(out.begin(), out.end(), std::byte{7});
    });
    return test::read_file(path_);
  }
  // Where tensor `name`'s u64 offset field is: after name, n_dims, 1 dim, type.
  static std::size_t offset_field(const std::string& bytes, const std::string& name) {
    const std::size_t name_at = bytes.find(name, kFirstKvAt);
    return name_at + name.size() + 4 + 8 + 4;
  }
  ::testing::AssertionResult rejected(const std::string& bytes, const std::string& problem,
                                      std::int64_t offset = -1) {
    test::write_file(path_, bytes);
    return rejects([&] { read_gguf(path_); }, problem, offset);
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("model.gguf");
};

TEST_F(CorruptGguf, ValidFileIsAccepted) {
  test::write_file(path_, valid());
  EXPECT_EQ(read_gguf(path_).tensors.size(), 2u);
}

TEST_F(CorruptGguf, TruncatedHeader) {
  EXPECT_TRUE(rejected(valid().substr(0, 20), "truncated", kKvCountAt));
  EXPECT_TRUE(rejected("GG", "truncated", 0));
}

TEST_F(CorruptGguf, BadMagic) {
  std::string b = valid();
  b[3] = 'X';
  EXPECT_TRUE(rejected(b, "bad magic \"GGUX\"", 0));
}

TEST_F(CorruptGguf, UnsupportedVersion) {
  std::string b = valid();
  put_u32(b, 4, 4);
  EXPECT_TRUE(rejected(b, "unsupported GGUF version 4", 4));
  put_u32(b, 4, 1);
  EXPECT_TRUE(rejected(b, "unsupported GGUF version 1", 4));
  put_u32(b, 4, 0x03000000);
  EXPECT_TRUE(rejected(b, "big-endian", 4));
}

TEST_F(CorruptGguf, AbsurdTensorCount) {
  std::string b = valid();
  b.resize(1024, '\0');
  put_u64(b, kTensorCountAt, 4294967296ULL);
  EXPECT_TRUE(
      rejected(b, "tensor count 4294967296 is absurd for a 1024-byte file", kTensorCountAt));
  put_u64(b, kTensorCountAt, ~0ULL);
  EXPECT_TRUE(rejected(b, "tensor count -1 is negative", kTensorCountAt));
}

TEST_F(CorruptGguf, AbsurdKvCount) {
  std::string b = valid();
  put_u64(b, kKvCountAt, 1ULL << 40);
  EXPECT_TRUE(rejected(b, "KV count 1099511627776 is absurd", kKvCountAt));
}

TEST_F(CorruptGguf, StringLengthPastEof) {
  GgufFile f;
  f.set("general.name", GgufValue::str("tiny"));
  write_gguf_file(path_, f, {});
  std::string b = test::read_file(path_);
  const std::size_t length_at = kFirstKvAt + 8 + 12 + 4;  // key length + "general.name" + type
  put_u64(b, length_at, 1000000);
  EXPECT_TRUE(rejected(b, "string length 1000000 runs past the end of the file", length_at));
  put_u64(b, kFirstKvAt, 1ULL << 62);  // the key's length
  EXPECT_TRUE(rejected(b, "key of KV 0: string length 4611686018427387904", kFirstKvAt));
}

TEST_F(CorruptGguf, ArrayLengthPastEof) {
  GgufFile f;
  f.set("x", GgufValue::array(GgufType::kUint32, {GgufValue::u32(1)}));
  write_gguf_file(path_, f, {});
  std::string b = test::read_file(path_);
  const std::size_t count_at = kFirstKvAt + 8 + 1 + 4 + 4;
  put_u64(b, count_at, 1ULL << 40);
  EXPECT_TRUE(rejected(b, "array of 1099511627776 u32 elements runs past the end", count_at));
}

TEST_F(CorruptGguf, UnknownValueType) {
  GgufFile f;
  f.set("x", GgufValue::u8(1));
  write_gguf_file(path_, f, {});
  std::string b = test::read_file(path_);
  put_u32(b, kFirstKvAt + 8 + 1, 13);
  EXPECT_TRUE(rejected(b, "unknown value type 13", kFirstKvAt + 9));
}

TEST_F(CorruptGguf, TensorOffsetPastEof) {
  std::string b = valid();
  const std::size_t at = offset_field(b, "b");
  put_u64(b, at, 1 << 20);
  EXPECT_TRUE(rejected(b, "tensor 'b' data", at));
  EXPECT_TRUE(rejected(b, "runs past the end of the", at));
  put_u64(b, at, ~0ULL - 31);  // offset + size would overflow
  EXPECT_TRUE(rejected(b, "runs past the end of the", at));
}

TEST_F(CorruptGguf, TruncatedData) {
  std::string b = valid();
  b.resize(b.size() - 1);
  EXPECT_TRUE(rejected(b, "tensor 'b' data", offset_field(b, "b")));
}

TEST_F(CorruptGguf, MisalignedOffset) {
  std::string b = valid();
  const std::size_t at = offset_field(b, "b");
  put_u64(b, at, 16);
  EXPECT_TRUE(rejected(b, "tensor 'b' offset 16 is not a multiple of the alignment 32", at));
}

TEST_F(CorruptGguf, OverlappingTensors) {
  std::string b = valid();
  const std::size_t at = offset_field(b, "b");
  put_u64(b, at, 0);
  EXPECT_TRUE(rejected(b, "overlaps tensor", at));
}

TEST_F(CorruptGguf, TooManyDimensions) {
  std::string b = valid();
  const std::size_t n_dims_at = b.find('a', kFirstKvAt) + 1;
  put_u32(b, n_dims_at, 5);
  EXPECT_TRUE(rejected(b, "has 5 dimensions; ggml allows at most 4", n_dims_at));
}

TEST_F(CorruptGguf, UnknownTensorType) {
  std::string b = valid();
  const std::size_t type_at = b.find('a', kFirstKvAt) + 1 + 4 + 8;
  put_u32(b, type_at, 4);  // Q4_2, removed from ggml
  EXPECT_TRUE(rejected(b, "unknown ggml type 4 (known: F32, F16", type_at));
}

TEST_F(CorruptGguf, FirstDimensionNotDivisibleByBlock) {
  std::string b = valid();
  const std::size_t type_at = b.find('a', kFirstKvAt) + 1 + 4 + 8;
  put_u32(b, type_at, 2);  // Q4_0 with 8 elements: blocks are 32
  EXPECT_TRUE(rejected(b, "first dimension 8 is not a multiple of the Q4_0 block size 32"));
}

TEST_F(CorruptGguf, BadAlignment) {
  GgufFile f;
  f.set("general.alignment", GgufValue::u32(32));
  write_gguf_file(path_, f, {});
  std::string b = test::read_file(path_);
  const std::size_t value_at = kFirstKvAt + 8 + 17 + 4;
  put_u32(b, value_at, 48);
  EXPECT_TRUE(rejected(b, "general.alignment 48 is not a power of two", value_at));
  put_u32(b, value_at, 0);
  EXPECT_TRUE(rejected(b, "general.alignment 0 is not a power of two", value_at));
}

TEST_F(CorruptGguf, NameTooLongAndDuplicates) {
  std::string b = valid();
  const std::size_t name_at = b.find('b', kFirstKvAt) - 8;
  b[name_at + 8] = 'a';
  EXPECT_TRUE(rejected(b, "duplicate tensor name 'a'", name_at));
}

}  // namespace
}  // namespace faultline
