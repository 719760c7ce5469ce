// The corrupt-safetensors corpus: each malformed file is rejected with its own
// FormatError naming the file and the byte offset.
#include "datasets/safetensors.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace faultline {
namespace {

using nlohmann::json;
using test::rejects;

class CorruptSafetensors : public ::testing::Test {
 protected:
  // 8-byte length + header text + data bytes.
  static std::string file_bytes(const std::string& header, std::size_t data_bytes) {
    std::string b(8, '\0');
    test::put_u64(b, 0, header.size());
    return b + header + std::string(data_bytes, '\x5a');
  }
  static json entry(const std::string& dtype, std::vector<std::uint64_t> shape, std::uint64_t begin,
                    std::uint64_t end) {
    return {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, end}}};
  }
  ::testing::AssertionResult rejected(const std::string& bytes, const std::string& problem,
                                      std::int64_t offset = -1) {
    test::write_file(path_, bytes);
    return rejects([&] { read_safetensors(path_); }, problem, offset);
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("model.safetensors");
};

TEST_F(CorruptSafetensors, ValidFileIsAccepted) {
  const json h = {{"w", entry("F32", {2, 2}, 0, 16)}};
  test::write_file(path_, file_bytes(h.dump(), 16));
  EXPECT_EQ(read_safetensors(path_).tensors.size(), 1u);
}

TEST_F(CorruptSafetensors, MalformedJson) {
  std::string header = json{{"w", entry("F32", {2}, 0, 8)}}.dump();
  const std::size_t colon = header.find(':');
  header[colon] = ';';
  EXPECT_TRUE(rejected(file_bytes(header, 8), "malformed JSON header", 8 + colon));
  EXPECT_TRUE(rejected(file_bytes(header, 8), "line 1, column"));
}

// A number no JSON number type holds: nlohmann throws out_of_range, not
// parse_error (found by fuzz_safetensors).
TEST_F(CorruptSafetensors, NumberTooLargeForJson) {
  EXPECT_TRUE(rejected(file_bytes("{\"x\": 5e" + std::string(400, '5') + "}", 0),
                       "malformed JSON header", 8));
}

TEST_F(CorruptSafetensors, HeaderIsNotAnObject) {
  EXPECT_TRUE(rejected(file_bytes(json::array({1, 2}).dump(), 0), "not an object", 8));
}

TEST_F(CorruptSafetensors, DataOffsetsOutOfRange) {
  const json h = {{"w", entry("F32", {250}, 0, 1000)}};
  EXPECT_TRUE(rejected(file_bytes(h.dump(), 16), "data_offsets [0, 1000) are out of range", 8 + 1));
}

TEST_F(CorruptSafetensors, HeaderLengthBeyondFile) {
  std::string b = file_bytes(json::object().dump(), 0);
  test::put_u64(b, 0, 1000000);
  EXPECT_TRUE(rejected(b, "header length 1000000 runs past the end of the 10-byte file", 0));
  test::put_u64(b, 0, 200000000);
  EXPECT_TRUE(rejected(b, "exceeds the 100000000-byte limit", 0));
}

TEST_F(CorruptSafetensors, TruncatedLength) {
  EXPECT_TRUE(rejected("abc", "8-byte header length is missing", 0));
}

TEST_F(CorruptSafetensors, UnknownDtype) {
  const json h = {{"w", entry("F7", {2}, 0, 8)}};
  EXPECT_TRUE(rejected(file_bytes(h.dump(), 8), "unknown dtype 'F7' (known: F64, F32, F16, BF16"));
}

TEST_F(CorruptSafetensors, ShapeDisagreesWithOffsets) {
  const json h = {{"w", entry("F32", {3}, 0, 8)}};
  EXPECT_TRUE(rejected(file_bytes(h.dump(), 8), "needs 12 bytes but data_offsets [0, 8) hold 8"));
}

TEST_F(CorruptSafetensors, OverlappingTensors) {
  const json h = {{"a", entry("U8", {8}, 0, 8)}, {"b", entry("U8", {8}, 4, 12)}};
  const std::string header = h.dump();
  EXPECT_TRUE(rejected(file_bytes(header, 12), "tensor 'b' data_offsets [4, 12) overlap tensor 'a'",
                       8 + header.find("\"b\"")));
}

TEST_F(CorruptSafetensors, BadOffsetsAndMetadata) {
  const json reversed = {{"w", {{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {8, 0}}}}};
  EXPECT_TRUE(rejected(file_bytes(reversed.dump(), 8), "end before they begin"));
  const json negative = {{"w", {{"dtype", "U8"}, {"shape", {-1}}, {"data_offsets", {0, 0}}}}};
  EXPECT_TRUE(rejected(file_bytes(negative.dump(), 8), "not a non-negative integer"));
  const json metadata = {{"__metadata__", {{"k", 1}}}};
  EXPECT_TRUE(
      rejected(file_bytes(metadata.dump(), 0), "__metadata__ value of 'k' is not a string"));
}

}  // namespace
}  // namespace faultline
