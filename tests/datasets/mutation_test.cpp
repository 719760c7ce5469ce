// Randomly damaged files: whatever the damage, a reader either accepts the
// file or throws FormatError; it never crashes, over-allocates or throws
// anything else.
#include "datasets/format_error.h"
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "datasets/model_layout.h"
#include "datasets/safetensors.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

#include <random>

namespace faultline {
namespace {

void fill_ones(std::size_t, std::uint64_t, std::span<std::byte> out) {
  std::fill(out.begin(), out.end(), std::byte{1});
}

// Applies one of: overwrite a byte, overwrite 8 bytes with a random u64, truncate.
std::string mutate(std::string b, std::mt19937_64& rng) {
  const std::size_t at = rng() % b.size();
  switch (rng() % 3) {
    case 0:
      b[at] = static_cast<char>(rng());
      break;
    case 1:
      if (at + 8 <= b.size()) test::put_u64(b, at, rng() >> (rng() % 64));
      break;
    default:
      b.resize(at);
  }
  return b;
}

void survive_mutations(const std::string& path, const std::string& valid,
                       const std::function<void()>& read) {
  std::mt19937_64 rng(12345);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string damaged = mutate(valid, rng);
    test::write_file(path, damaged);
    try {
      read();
    } catch (const FormatError&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "mutation " << i << " threw a non-FormatError: " << e.what();
    }
  }
  EXPECT_GT(rejected, 100);
}

TEST(Mutations, GgufReaderRejectsOrAccepts) {
  test::TempDir dir;
  const std::string path = dir.file("m.gguf");
  GgufFile f;
  f.set("general.name", GgufValue::str("mutant"));
  f.set("tokens", GgufValue::array(GgufType::kString, {GgufValue::str("a"), GgufValue::str("bc")}));
  f.set("n", GgufValue::array(GgufType::kArray,
                              {GgufValue::array(GgufType::kUint8, {GgufValue::u8(1)})}));
  f.set("x", GgufValue::f64(1.5));
  f.tensors.push_back({"blk.0.a", {32, 2}, kGgmlF16, 0, 0});
  f.tensors.push_back({"blk.0.ffn_up_exps", {32, 2, 2}, 8 /* Q8_0 */, 0, 0});
  write_gguf_file(path, f, fill_ones);
  const std::string valid = test::read_file(path);
  survive_mutations(path, valid, [&] { read_gguf(path); });
  survive_mutations(path, valid, [&] { load_layout(path); });
}

TEST(Mutations, SafetensorsReaderRejectsOrAccepts) {
  test::TempDir dir;
  const std::string path = dir.file("m.safetensors");
  SafetensorsFile f;
  f.metadata = {{"format", "pt"}};
  f.tensors = {{"model.layers.0.a", "F16", {4, 2}, 0, 0}, {"b", "I64", {3}, 0, 0}};
  write_safetensors_file(path, f, fill_ones);
  const std::string valid = test::read_file(path);
  survive_mutations(path, valid, [&] { read_safetensors(path); });
}

}  // namespace
}  // namespace faultline
