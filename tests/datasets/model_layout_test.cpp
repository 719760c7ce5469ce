// ModelLayout: format detection, absolute offsets, layers, MoE expert slices.
#include "datasets/model_layout.h"
#include "datasets/generator.h"
#include "datasets/gguf.h"
#include "datasets/safetensors.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace faultline {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

void expect_sorted_disjoint_in_file(const ModelLayout& m) {
  for (std::size_t i = 0; i < m.tensors.size(); ++i) {
    const auto& t = m.tensors[i];
    EXPECT_LE(t.offset + t.bytes, m.file_size) << t.name;
    EXPECT_GE(t.offset, m.data_offset) << t.name;
    if (i > 0) {
      EXPECT_GE(t.offset, m.tensors[i - 1].offset + m.tensors[i - 1].bytes) << t.name;
    }
  }
}

TEST(LayerOf, KnownNamingSchemes) {
  EXPECT_EQ(layer_of("blk.12.attn_q.weight"), 12);
  EXPECT_EQ(layer_of("model.layers.3.self_attn.q_proj.weight"), 3);
  EXPECT_EQ(layer_of("layers.7.feed_forward.w1.weight"), 7);
  EXPECT_EQ(layer_of("transformer.h.5.attn.c_attn.weight"), 5);
  EXPECT_EQ(layer_of("language_model.model.layers.40.mlp.up_proj.weight"), 40);
  EXPECT_EQ(layer_of("token_embd.weight"), -1);
  EXPECT_EQ(layer_of("output.weight"), -1);
  EXPECT_EQ(layer_of("h.3.attn"), -1);
  EXPECT_EQ(layer_of("blk.x.attn"), -1);
  EXPECT_EQ(layer_of("blk.3"), 3);
}

TEST(ModelLayout, GgufDenseModel) {
  test::TempDir dir;
  const auto r = generate_model(
      {.format = ModelFormat::kGguf, .size = 4 * kMiB, .layers = 3, .out = dir.file("dense.gguf")});
  const ModelLayout m = load_layout(r.path);
  EXPECT_EQ(m.format, ModelFormat::kGguf);
  EXPECT_EQ(m.file_size, 4 * kMiB);
  EXPECT_EQ(m.n_layers, 3);
  EXPECT_EQ(m.n_experts, 0);
  EXPECT_EQ(m.data_offset % 32, 0u);
  ASSERT_FALSE(m.tensors.empty());
  EXPECT_EQ(m.tensors.front().name, "token_embd.weight");
  EXPECT_EQ(m.tensors.front().offset, m.data_offset);
  EXPECT_EQ(m.tensors.front().dtype, "F16");
  EXPECT_EQ(m.tensors.back().name, "output.weight");
  EXPECT_EQ(m.tensors.back().offset + m.tensors.back().bytes, m.file_size);
  std::map<int, int> per_layer;
  for (const auto& t : m.tensors) {
    ++per_layer[t.layer];
    EXPECT_EQ(t.expert, -1);
    if (t.name.find("norm") != std::string::npos) {
      EXPECT_EQ(t.dtype, "F32") << t.name;
    }
  }
  EXPECT_EQ(per_layer[-1], 3);  // token_embd, output_norm, output
  for (int l = 0; l < 3; ++l) EXPECT_EQ(per_layer[l], 9) << l;
  expect_sorted_disjoint_in_file(m);
}

TEST(ModelLayout, GgufExpertsAreSlicesOfOneTensor) {
  test::TempDir dir;
  const auto r = generate_model({.format = ModelFormat::kGguf,
                                 .size = 8 * kMiB,
                                 .layers = 2,
                                 .experts = 4,
                                 .out = dir.file("moe.gguf")});
  const GgufFile g = read_gguf(r.path);
  const ModelLayout m = load_layout(r.path);
  EXPECT_EQ(m.n_layers, 2);
  EXPECT_EQ(m.n_experts, 4);
  expect_sorted_disjoint_in_file(m);

  const GgufTensorInfo* up = nullptr;
  for (const auto& t : g.tensors)
    if (t.name == "blk.1.ffn_up_exps.weight") up = &t;
  ASSERT_NE(up, nullptr);
  ASSERT_EQ(up->dims.size(), 3u);
  EXPECT_EQ(up->dims[2], 4u);
  for (int e = 0; e < 4; ++e) {
    const std::string name = "blk.1.ffn_up_exps.weight[" + std::to_string(e) + "]";
    const auto it = std::find_if(m.tensors.begin(), m.tensors.end(),
                                 [&](const Tensor& t) { return t.name == name; });
    ASSERT_NE(it, m.tensors.end()) << name;
    EXPECT_EQ(it->expert, e);
    EXPECT_EQ(it->layer, 1);
    EXPECT_EQ(it->bytes, up->bytes / 4);
    EXPECT_EQ(it->offset, g.data_offset + up->offset + e * (up->bytes / 4));
  }
  int slices = 0;
  for (const auto& t : m.tensors) slices += t.expert >= 0;
  EXPECT_EQ(slices, 2 * 3 * 4);  // layers x {gate, up, down} x experts
}

TEST(ModelLayout, SafetensorsExpertsByName) {
  test::TempDir dir;
  const auto r = generate_model({.format = ModelFormat::kSafetensors,
                                 .size = 8 * kMiB,
                                 .layers = 2,
                                 .experts = 3,
                                 .out = dir.file("moe.safetensors")});
  const ModelLayout m = load_layout(r.path);
  EXPECT_EQ(m.format, ModelFormat::kSafetensors);
  EXPECT_EQ(m.n_layers, 2);
  EXPECT_EQ(m.n_experts, 3);
  expect_sorted_disjoint_in_file(m);
  std::set<std::pair<int, int>> seen;
  for (const auto& t : m.tensors)
    if (t.expert >= 0) {
      EXPECT_NE(t.name.find(".experts." + std::to_string(t.expert) + "."), std::string::npos);
      seen.insert({t.layer, t.expert});
    }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(ModelLayout, RawFileIsOneTensor) {
  test::TempDir dir;
  const std::string path = dir.file("weights.bin");
  test::write_file(path, std::string(12345, 'x'));
  const ModelLayout m = load_layout(path);
  EXPECT_EQ(m.format, ModelFormat::kRaw);
  ASSERT_EQ(m.tensors.size(), 1u);
  EXPECT_EQ(m.tensors[0].name, "data");
  EXPECT_EQ(m.tensors[0].offset, 0u);
  EXPECT_EQ(m.tensors[0].bytes, 12345u);
  EXPECT_EQ(m.tensors[0].dtype, "U8");
  EXPECT_EQ(m.n_layers, 0);
}

TEST(ModelLayout, CorruptGgufIsNotMistakenForRaw) {
  test::TempDir dir;
  const std::string path = dir.file("bad.gguf");
  test::write_file(path, std::string("GGUF\x09\0\0\0", 8) + std::string(64, '\0'));
  EXPECT_TRUE(test::rejects([&] { load_layout(path); }, "unsupported GGUF version 9", 4));
}

TEST(ModelLayout, MissingFileIsASystemError) {
  EXPECT_THROW(load_layout("/nonexistent/model.gguf"), std::system_error);
}

}  // namespace
}  // namespace faultline
