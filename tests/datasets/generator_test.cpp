// The generator: exact sizes, llama.cpp metadata, incompressible and
// reproducible data.
#include "datasets/generator.h"
#include "datasets/gguf.h"
#include "datasets/model_layout.h"
#include "datasets/safetensors.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace faultline {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

class GeneratedModel : public ::testing::TestWithParam<ModelFormat> {};

TEST_P(GeneratedModel, SizeIsTheRequestedSizeWithinAlignment) {
  test::TempDir dir;
  for (std::uint64_t size : {64 * kMiB, 64 * kMiB - 1000, 3 * kMiB + 7}) {
    SCOPED_TRACE(size);
    const GenOptions o{.format = GetParam(), .size = size, .out = dir.file("m"), .force = true};
    const GenResult r = generate_model(o);
    const std::uint64_t actual = test::file_size(r.path);
    EXPECT_EQ(actual, r.plan.bytes);
    EXPECT_LE(actual, size);
    EXPECT_LT(size - actual, std::max<std::uint64_t>(r.plan.tolerance, 1));
    EXPECT_LE(r.plan.tolerance, 32u);
    const ModelLayout m = load_layout(r.path);
    EXPECT_EQ(m.format, GetParam());
    if (GetParam() != ModelFormat::kRaw) {
      EXPECT_EQ(m.n_layers, default_layers(size));
      // Nearly all of the file is tensor data.
      std::uint64_t tensor_bytes = 0;
      for (const auto& t : m.tensors) tensor_bytes += t.bytes;
      EXPECT_GT(static_cast<double>(tensor_bytes), 0.95 * static_cast<double>(actual));
    }
  }
}

TEST_P(GeneratedModel, DataIsIncompressible) {
  test::TempDir dir;
  const GenResult r =
      generate_model({.format = GetParam(), .size = 64 * kMiB, .out = dir.file("m")});
  const std::string bytes = test::read_file(r.path);
  const ModelLayout m = load_layout(r.path);
  // Every 4 KiB page of tensor data is distinct.
  std::unordered_set<std::string_view> pages;
  const std::uint64_t first_page = (m.data_offset + 4095) / 4096;
  for (std::uint64_t p = first_page; (p + 1) * 4096 <= bytes.size(); ++p)
    ASSERT_TRUE(pages.insert(std::string_view(bytes).substr(p * 4096, 4096)).second)
        << "page " << p;
  // Byte values are uniform: each of 256 counts within 6 sigma over 16 MiB.
  std::array<std::uint64_t, 256> histogram{};
  const std::uint64_t n = 16 * kMiB;
  for (std::uint64_t i = 0; i < n; ++i)
    ++histogram[static_cast<unsigned char>(bytes[bytes.size() - n + i])];
  const double mean = static_cast<double>(n) / 256, sigma = std::sqrt(mean);
  for (int v = 0; v < 256; ++v) EXPECT_NEAR(histogram[v], mean, 6 * sigma) << "byte " << v;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, GeneratedModel,
                         ::testing::Values(ModelFormat::kGguf, ModelFormat::kSafetensors,
                                           ModelFormat::kRaw),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(Generator, SameSeedSameBytesOtherSeedOtherData) {
  test::TempDir dir;
  const auto make = [&](const std::string& name, std::uint64_t seed) {
    return test::read_file(
        generate_model(
            {.format = ModelFormat::kGguf, .size = 8 * kMiB, .seed = seed, .out = dir.file(name)})
            .path);
  };
  const std::string a = make("a.gguf", 42), b = make("b.gguf", 42), c = make("c.gguf", 43);
  EXPECT_TRUE(a == b);
  ASSERT_EQ(a.size(), c.size());
  const std::uint64_t data = read_gguf(dir.file("a.gguf")).data_offset;
  std::uint64_t same = 0;
  for (std::uint64_t i = data; i < a.size(); ++i) same += a[i] == c[i];
  EXPECT_LT(same, (a.size() - data) / 100);  // ~1/256 by chance
}

TEST(Generator, LlamaArchCarriesWhatLlamaCppRequires) {
  test::TempDir dir;
  const GenResult r = generate_model({.format = ModelFormat::kGguf,
                                      .size = 16 * kMiB,
                                      .layers = 4,
                                      .experts = 4,
                                      .arch = "llama",
                                      .out = dir.file("llama.gguf")});
  const GgufFile g = read_gguf(r.path);
  EXPECT_EQ(g.find("general.architecture")->as_string(), "llama");
  const auto u = [&](const char* key) {
    const GgufValue* v = g.find(key);
    EXPECT_NE(v, nullptr) << key;
    EXPECT_EQ(v ? v->type : GgufType::kString, GgufType::kUint32) << key;
    return v ? v->as_uint() : 0;
  };
  const ModelShape& s = r.plan.shape;
  EXPECT_EQ(u("llama.block_count"), 4u);
  EXPECT_EQ(u("llama.embedding_length"), s.n_embd);
  EXPECT_EQ(u("llama.feed_forward_length"), s.n_ff);
  EXPECT_EQ(u("llama.attention.head_count") * u("llama.rope.dimension_count"), s.n_embd);
  EXPECT_EQ(u("llama.attention.head_count") % u("llama.attention.head_count_kv"), 0u);
  EXPECT_GT(u("llama.context_length"), 0u);
  EXPECT_EQ(u("llama.expert_count"), 4u);
  EXPECT_EQ(u("llama.expert_used_count"), 2u);
  EXPECT_EQ(g.find("llama.attention.layer_norm_rms_epsilon")->type, GgufType::kFloat32);
  EXPECT_EQ(g.find("tokenizer.ggml.model")->as_string(), "llama");
  const auto& tokens = g.find("tokenizer.ggml.tokens")->as_array();
  EXPECT_EQ(tokens.size(), s.n_vocab);
  EXPECT_EQ(g.find("tokenizer.ggml.scores")->as_array().size(), s.n_vocab);
  EXPECT_EQ(g.find("tokenizer.ggml.token_type")->as_array().size(), s.n_vocab);
  EXPECT_EQ(tokens[1].as_string(), "<s>");
  EXPECT_EQ(tokens[3 + '\n'].as_string(), "<0x0A>");
  EXPECT_LT(u("tokenizer.ggml.bos_token_id"), s.n_vocab);
  EXPECT_LT(u("tokenizer.ggml.eos_token_id"), s.n_vocab);
  // Tensor shapes as llama.cpp's llama loader expects them (dims innermost first).
  for (const auto& t : g.tensors) {
    if (t.name == "token_embd.weight" || t.name == "output.weight") {
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{s.n_embd, s.n_vocab}));
    }
    if (t.name == "blk.0.attn_k.weight") {
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{s.n_embd, s.n_head_kv * s.head_dim()}));
    }
    if (t.name == "blk.0.ffn_down_exps.weight") {
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{s.n_ff, s.n_embd, 4}));
    }
    if (t.name == "blk.0.ffn_gate_inp.weight") {
      EXPECT_EQ(t.dims, (std::vector<std::uint64_t>{s.n_embd, 4}));
    }
  }
  EXPECT_EQ(g.tensors.size(), 2u + 4 * 10 + 1);  // embd, 10 per MoE layer, norm + output
  EXPECT_EQ(test::file_size(r.path), 16 * kMiB);
}

TEST(Generator, ImpossibleOptionsAreRefusedBeforeWriting) {
  test::TempDir dir;
  const std::string out = dir.file("x.gguf");
  EXPECT_THROW(
      plan_model({.format = ModelFormat::kGguf, .size = 100 * 1024, .layers = 30, .out = out}),
      std::invalid_argument);
  EXPECT_THROW(
      plan_model(
          {.format = ModelFormat::kSafetensors, .size = 64 * kMiB, .arch = "llama", .out = out}),
      std::invalid_argument);
  EXPECT_THROW(
      plan_model({.format = ModelFormat::kGguf, .size = 64 * kMiB, .arch = "gpt2", .out = out}),
      std::invalid_argument);
  EXPECT_THROW(
      plan_model({.format = ModelFormat::kGguf, .size = 64 * kMiB, .experts = 1, .out = out}),
      std::invalid_argument);
  EXPECT_FALSE(test::exists(out));
}

TEST(Generator, RefusesToOverwriteWithoutForce) {
  test::TempDir dir;
  const std::string out = dir.file("keep.bin");
  test::write_file(out, "precious");
  EXPECT_THROW(generate_model({.format = ModelFormat::kRaw, .size = kMiB, .out = out}),
               std::runtime_error);
  EXPECT_EQ(test::read_file(out), "precious");
  generate_model({.format = ModelFormat::kRaw, .size = kMiB, .out = out, .force = true});
  EXPECT_EQ(test::file_size(out), kMiB);
}

TEST(Generator, EnsureModelReusesAnExistingFile) {
  test::TempDir dir;
  const GenOptions o{.format = ModelFormat::kGguf, .size = 4 * kMiB, .out = dir.file("m.gguf")};
  EXPECT_GT(ensure_model(o).seconds, 0.0);
  EXPECT_EQ(ensure_model(o).seconds, 0.0);  // reused
  test::write_file(o.out, "garbage");
  EXPECT_GT(ensure_model(o).seconds, 0.0);  // regenerated
  EXPECT_EQ(test::file_size(o.out), 4 * kMiB);
}

}  // namespace
}  // namespace faultline
