// Access patterns: parsing, which ranges each covers on a model layout, the
// bytes they touch, and that touch() (timed or not) reads one byte of every
// page.
#include "benchmarks/access_pattern.h"
#include "benchmarks/touch_timer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace faultline {
namespace {

constexpr std::uint64_t kPage = 4096;

// A small MoE model: embedding, 2 layers of (norm, 4 expert slices), output.
ModelLayout moe_layout() {
  ModelLayout l;
  l.path = "moe.gguf";
  l.format = ModelFormat::kGguf;
  std::uint64_t off = kPage;
  auto add = [&](std::string name, std::uint64_t bytes, int layer, int expert) {
    l.tensors.push_back({std::move(name), off, bytes, "F16", layer, expert});
    off += bytes;
  };
  add("token_embd.weight", 4 * kPage, -1, -1);
  for (int layer = 0; layer < 2; ++layer) {
    add("blk." + std::to_string(layer) + ".attn_norm.weight", kPage, layer, -1);
    for (int e = 0; e < 4; ++e)
      add("blk." + std::to_string(layer) + ".ffn_up_exps.weight[" + std::to_string(e) + "]",
          2 * kPage, layer, e);
  }
  add("output_norm.weight", kPage, -1, -1);
  add("output.weight", 4 * kPage, -1, -1);
  l.file_size = off;
  l.n_layers = 2;
  l.n_experts = 4;
  return l;
}

TEST(AccessPattern, ParseAndPrintRoundTrip) {
  for (const char* s : {"none", "first-layer", "forward", "sequential", "random:100", "moe:2/8"})
    EXPECT_EQ(to_string(parse_pattern(s)), s);
  EXPECT_THROW(parse_pattern("random:0"), std::invalid_argument);
  EXPECT_THROW(parse_pattern("moe:3"), std::invalid_argument);
  EXPECT_THROW(parse_pattern("moe:5/4"), std::invalid_argument);
  try {
    parse_pattern("backward");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("valid: none, first-layer, forward"));
  }
}

TEST(AccessPattern, NoneTouchesNothingSequentialEverything) {
  auto l = moe_layout();
  EXPECT_EQ(pages_covered(plan_ranges(parse_pattern("none"), l)), 0u);
  EXPECT_EQ(pages_covered(plan_ranges(parse_pattern("sequential"), l)), l.file_size / kPage);
}

TEST(AccessPattern, ForwardVisitsEveryTensorOnceInLayerOrder) {
  auto l = moe_layout();
  auto r = plan_ranges(parse_pattern("forward"), l);
  ASSERT_EQ(r.size(), l.tensors.size());
  EXPECT_EQ(r.front().offset, l.tensors.front().offset) << "embedding first";
  EXPECT_EQ(r.back().offset, l.tensors.back().offset) << "output head last";
  EXPECT_EQ(pages_covered(r), (l.file_size - kPage) / kPage) << "all but the header page";
}

TEST(AccessPattern, FirstLayerIsLayerZeroOnly) {
  auto l = moe_layout();
  auto r = plan_ranges(parse_pattern("first-layer"), l);
  EXPECT_EQ(pages_covered(r), 1u + 4 * 2);
}

TEST(AccessPattern, MoeTouchesKOfNExpertsPerLayer) {
  auto l = moe_layout();
  auto r = plan_ranges(parse_pattern("moe:1/4"), l);
  EXPECT_EQ(pages_covered(r), 2u * (1 + 1 * 2)) << "per layer: the norm and one expert";
  EXPECT_THROW(plan_ranges(parse_pattern("moe:1/8"), l), std::invalid_argument);
  l.n_experts = 0;
  EXPECT_THROW(plan_ranges(parse_pattern("moe:1/4"), l), std::invalid_argument);
}

TEST(AccessPattern, RandomIsSeededAndPageAligned) {
  auto l = moe_layout();
  auto a = plan_ranges(parse_pattern("random:50"), l, 7);
  auto b = plan_ranges(parse_pattern("random:50"), l, 7);
  ASSERT_EQ(a.size(), 50u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offset, b[i].offset);
    EXPECT_EQ(a[i].offset % kPage, 0u);
  }
}

TEST(AccessPattern, TouchReadsOneBytePerPage) {
  std::vector<std::uint8_t> data(10 * kPage, 0);
  for (std::uint64_t p = 0; p < 10; ++p) data[p * kPage] = static_cast<std::uint8_t>(p + 1);
  std::vector<Range> all = {{0, data.size()}};
  std::uint64_t sum = touch(data.data(), data.size(), all);
  std::uint64_t expect = 0;
  for (int p = 1; p <= 10; ++p) expect = expect * 31 + p;
  EXPECT_EQ(sum, expect);
}

TEST(AccessPattern, BytesCoveredCountsWholePagesClippedToTheFile) {
  const std::uint64_t file = 10 * kPage + 100;  // the last page has 100 bytes
  EXPECT_EQ(bytes_covered({}, file), 0u);
  EXPECT_EQ(bytes_covered({{0, file}}, file), file);
  EXPECT_EQ(bytes_covered({{10, 1}}, file), kPage) << "one byte touches its page";
  EXPECT_EQ(bytes_covered({{kPage - 1, 2}}, file), 2 * kPage) << "two pages";
  EXPECT_EQ(bytes_covered({{0, kPage}, {0, kPage}, {100, 10}}, file), kPage) << "distinct";
  EXPECT_EQ(bytes_covered({{10 * kPage, 100}}, file), 100u) << "clipped at EOF";
  EXPECT_EQ(bytes_covered({{3 * kPage, kPage}, {kPage, 3 * kPage}}, file), 3 * kPage);
  const auto l = moe_layout();
  for (const char* p : {"first-layer", "forward", "sequential", "random:7", "moe:1/4"}) {
    const auto r = plan_ranges(parse_pattern(p), l);
    EXPECT_EQ(bytes_covered(r, l.file_size), pages_covered(r) * kPage) << p;  // page-sized file
  }
}

// The timed touch reads the same bytes in the same order as touch(), and
// times each page once, however many ranges share it.
TEST(TouchTimer, SameChecksumAndOneSamplePerPage) {
  std::vector<std::uint8_t> data(10 * kPage + 7);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::uint8_t(i * 7 + 3);
  const std::vector<Range> ranges = {
      {kPage / 2, 2 * kPage}, {2 * kPage + 5, 10}, {9 * kPage, kPage + 7}, {0, 1}};
  TouchTimer timer(data.size());
  EXPECT_EQ(timer.touch(data.data(), data.size(), ranges), touch(data.data(), data.size(), ranges));
  EXPECT_EQ(timer.latency_ns().count(), pages_covered(ranges));
}

TEST(TouchTimer, Log2HistogramSlotsAndPercentiles) {
  Log2Histogram h;
  EXPECT_EQ(h.percentile(50), 0.0);
  EXPECT_TRUE(h.used_slots().empty());
  h.add(0);     // slot 0
  h.add(1);     // slot 1: [1, 2)
  h.add(1000);  // slot 10: [512, 1024)
  h.add(1023);
  EXPECT_EQ(h.count(), 4u);
  const auto slots = h.used_slots();
  ASSERT_EQ(slots.size(), 11u);
  EXPECT_EQ(slots[0], 1u);
  EXPECT_EQ(slots[1], 1u);
  EXPECT_EQ(slots[10], 2u);
  EXPECT_GE(h.percentile(99), 512.0);
  EXPECT_LE(h.percentile(99), 1024.0);
  Log2Histogram twice = h;
  twice += h;
  EXPECT_EQ(twice.count(), 8u);
}

TEST(AccessPattern, DefaultsAddMoeOnlyForMoeModels) {
  auto l = moe_layout();
  auto d = default_patterns(l);
  EXPECT_EQ(to_string(d.back()), "moe:1/4");
  l.n_experts = 0;
  for (const auto& p : default_patterns(l)) EXPECT_NE(p.kind, PatternKind::kMoe);
}

}  // namespace
}  // namespace faultline
