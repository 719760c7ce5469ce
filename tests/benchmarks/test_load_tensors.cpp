// The per-tensor strategies on a generated llama-shaped GGUF model, checked by
// what the kernel saw: read:tensors issues one read() per tensor and reads
// only tensor bytes; copy puts the tensors in anonymous memory while the
// mapping stays resident, reclaim drops the mapped source; lazy leaves its
// large tensors to fault in page by page.
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "benchmarks/cache.h"
#include "benchmarks/mapping.h"
#include "benchmarks/tensor_plan.h"
#include "common/smaps.h"
#include "datasets/generator.h"

namespace faultline {
namespace {

// A field of /proc/self/status in bytes ("RssAnon"), or of /proc/self/io.
std::uint64_t proc_field(const char* file, const std::string& name) {
  std::ifstream in(file);
  std::string key;
  std::uint64_t v = 0;
  while (in >> key) {
    if (key == name + ":") {
      in >> v;
      return std::string(file) == "/proc/self/status" ? v * 1024 : v;
    }
    in.ignore(1 << 12, '\n');
  }
  ADD_FAILURE() << name << " not in " << file;
  return 0;
}

class LoadTensorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    GenOptions g;
    g.size = 48ull << 20;
    g.seed = 11;
    g.arch = "llama";
    g.out = "/var/tmp/faultline-test-tensors-" + std::to_string(::getpid()) + ".gguf";
    generate_model(g);
    path_ = new std::string(g.out);
    layout_ = new ModelLayout(load_layout(g.out));
  }
  static void TearDownTestSuite() {
    ::unlink(path_->c_str());
    delete layout_;
    delete path_;
  }
  static std::uint64_t tensor_bytes(bool repack_only = false) {
    std::uint64_t n = 0;
    for (const auto& t : layout_->tensors)
      if (!repack_only || repack_selected(t)) n += t.bytes;
    return n;
  }
  // Rss of this process's mappings of the model (smaps), in bytes.
  static std::uint64_t model_rss() {
    const auto file = file_key(*path_);
    return file ? file_field_bytes(read_smaps(), *file, "Rss") : 0;
  }
  // The tensors' bytes as the file has them, compared with `base` + offset.
  static void expect_tensor_bytes(const std::uint8_t* base) {
    Mapping ref = load(*path_, parse_strategy("mmap:private"));
    for (const auto& t : layout_->tensors)
      ASSERT_EQ(std::memcmp(base + t.offset, ref.data() + t.offset, t.bytes), 0) << t.name;
  }
  static std::string* path_;
  static ModelLayout* layout_;
};
std::string* LoadTensorsTest::path_ = nullptr;
ModelLayout* LoadTensorsTest::layout_ = nullptr;

TEST_F(LoadTensorsTest, ReadTensorsIssuesOneReadPerTensorOfExactlyItsBytes) {
  make_cold(*path_);
  const std::uint64_t rchar0 = proc_field("/proc/self/io", "rchar");
  const std::uint64_t storage0 = proc_field("/proc/self/io", "read_bytes");
  Mapping m = load(*path_, parse_strategy("read:tensors"), layout_);
  const std::uint64_t rchar = proc_field("/proc/self/io", "rchar") - rchar0;
  const std::uint64_t storage = proc_field("/proc/self/io", "read_bytes") - storage0;
  EXPECT_EQ(m.read_calls(), layout_->tensors.size()) << "one read() per tensor";
  // rchar also counts the first /proc/self/io read (a few hundred bytes).
  EXPECT_NEAR(double(rchar), double(tensor_bytes()), 4096.0);
  // From storage: the tensor region (readahead stays within the file), never the header.
  EXPECT_GE(storage, tensor_bytes() - 4096);
  EXPECT_LE(storage, layout_->file_size - (layout_->data_offset & ~std::uint64_t(4095)));
  expect_tensor_bytes(m.data());
}

// glibc's fseek+fread: a read() for the head of an unaligned tensor's first
// block, one for its whole blocks, one 4 KiB read() for a tail.
TEST_F(LoadTensorsTest, StdioReadsAreWhatGlibcMakesOfFseekFread) {
  std::uint64_t expected = 0;
  for (const auto& t : layout_->tensors)
    expected += (t.offset % 4096 != 0) + (t.bytes >= 4096) + (t.bytes % 4096 != 0);
  Mapping m = load(*path_, parse_strategy("llama.cpp:no-mmap"), layout_);
  EXPECT_EQ(m.read_calls(), expected);
  expect_tensor_bytes(m.data());
}

// On an AMX host (where node-llama-cpp 3.22.1 was measured) the F16 weights go
// to the AMX buffer: read first, biggest first.
TEST_F(LoadTensorsTest, TheNoMmapOrderPutsRepackedTensorsFirstBiggestFirst) {
  const RepackCpu amx{.amx = true, .avx2 = true, .avx512 = true};
  auto order = no_mmap_read_order(*layout_, amx);
  ASSERT_EQ(order.size(), layout_->tensors.size());
  std::size_t i = 0;
  for (; i < order.size() && repack_selected(*order[i], amx); ++i) {
    if (i) {
      EXPECT_GE(order[i - 1]->bytes, order[i]->bytes) << order[i]->name;
    }
  }
  ASSERT_GT(i, 0u) << "a llama-shaped F16 model has repacked tensors on AMX";
  EXPECT_EQ(order[i]->name, "token_embd.weight") << "then the creation order";
  for (; i < order.size(); ++i) EXPECT_FALSE(repack_selected(*order[i], amx)) << order[i]->name;
}

// Without AMX nothing of an F16 model is repacked (as node-llama-cpp keeps it
// mapped on an AMD EPYC): the no-mmap order is the creation order.
TEST_F(LoadTensorsTest, WithoutAmxAnF16ModelIsReadInCreationOrder) {
  const RepackCpu epyc{.amx = false, .avx2 = true, .avx512 = true};
  EXPECT_EQ(no_mmap_read_order(*layout_, epyc), creation_order(*layout_));
  EXPECT_TRUE(copied_tensors(*layout_, CopyMode::kRepack, epyc).empty());
  EXPECT_EQ(copied_tensors(*layout_, CopyMode::kAll, epyc).size(), layout_->tensors.size());
}

// ggml's CPU_REPACK takes Q4_0/Q4_K/IQ4_NL with AVX2 and Q2_K with AVX-512,
// rows a multiple of 8, 2-D weights and expert stacks; AMX its own types.
TEST(RepackSelection, FollowsTheCpuAndTheType) {
  auto tensor = [](std::string name, std::string dtype, std::vector<std::uint64_t> dims,
                   int expert = -1) {
    Tensor t{};
    t.name = std::move(name);
    t.dtype = std::move(dtype);
    t.dims = std::move(dims);
    t.expert = expert;
    return t;
  };
  const RepackCpu none{}, avx2{.avx2 = true}, avx512{.avx2 = true, .avx512 = true},
      amx{.amx = true, .avx2 = true, .avx512 = true};
  const Tensor q4 = tensor("blk.0.attn_q.weight", "Q4_0", {4096, 4096});
  EXPECT_FALSE(repack_selected(q4, none));
  EXPECT_TRUE(repack_selected(q4, avx2));
  EXPECT_FALSE(repack_selected(tensor("blk.0.attn_q.weight", "Q4_0", {4096, 4100}), avx2))
      << "rows not a multiple of 8";
  EXPECT_FALSE(repack_selected(tensor("token_embd.weight", "Q4_0", {4096, 32000}), amx));
  const Tensor q2 = tensor("blk.0.ffn_up.weight", "Q2_K", {4096, 11008});
  EXPECT_FALSE(repack_selected(q2, avx2));
  EXPECT_TRUE(repack_selected(q2, avx512));
  const Tensor f16 = tensor("blk.0.ffn_up.weight", "F16", {4096, 11008});
  EXPECT_FALSE(repack_selected(f16, avx512));
  EXPECT_TRUE(repack_selected(f16, amx));
  const Tensor q8 = tensor("blk.0.ffn_up.weight", "Q8_0", {4096, 11008});
  EXPECT_FALSE(repack_selected(q8, avx512));
  EXPECT_TRUE(repack_selected(q8, amx));
  const Tensor expert = tensor("blk.0.ffn_up_exps.weight[3]", "Q4_K", {2048, 1408, 64}, 3);
  EXPECT_TRUE(repack_selected(expert, avx2)) << "CPU_REPACK takes MUL_MAT_ID stacks";
  EXPECT_FALSE(repack_selected(tensor("x", "F16", {}), amx)) << "no dims: a raw file";
  EXPECT_EQ(describe(none), "none");
  EXPECT_EQ(describe(avx512), "CPU_REPACK: Q4_0, Q4_K, IQ4_NL, Q2_K");
}

TEST_F(LoadTensorsTest, CopyAllLeavesTheModelResidentTwice) {
  make_warm(*path_);
  const std::uint64_t anon0 = proc_field("/proc/self/status", "RssAnon");
  Mapping m = load(*path_, parse_strategy("mmap:shared,populate,copy"), layout_);
  const double anon = double(proc_field("/proc/self/status", "RssAnon") - anon0);
  const double file = double(model_rss());
  EXPECT_EQ(m.copied_bytes() >= tensor_bytes(), true);
  EXPECT_NEAR(anon, double(tensor_bytes()), double(1 << 20)) << "the copy";
  EXPECT_NEAR(file, double(layout_->file_size), double(1 << 20)) << "the source stays mapped";
  // The copy holds the tensors in creation order, each 64-byte aligned.
  std::uint64_t at = 0;
  for (const Tensor* t : copied_tensors(*layout_, CopyMode::kAll)) {
    ASSERT_EQ(std::memcmp(m.copy_data() + at, m.data() + t->offset, t->bytes), 0) << t->name;
    at += (t->bytes + 63) / 64 * 64;
  }
}

TEST_F(LoadTensorsTest, ReclaimDropsTheMappedSourceOfCopiedTensors) {
  make_warm(*path_);
  const std::uint64_t anon0 = proc_field("/proc/self/status", "RssAnon");
  Mapping m = load(*path_, parse_strategy("mmap:shared,populate,copy,reclaim"), layout_);
  const double anon = double(proc_field("/proc/self/status", "RssAnon") - anon0);
  EXPECT_NEAR(anon, double(tensor_bytes()), double(1 << 20));
  // What stays mapped and resident: the header and the partial pages at
  // tensor edges (the model's own mappings in smaps: nothing else counts).
  EXPECT_GT(model_rss(), 0u);
  EXPECT_LE(model_rss(), layout_->data_offset + 2 * 4096 * layout_->tensors.size());
  EXPECT_GT(residency(*path_).pct(), 99.0) << "the page cache keeps the pages";
}

TEST_F(LoadTensorsTest, CopyRepackCopiesOnlyTheRepackedTensors) {
  Mapping m = load(*path_, parse_strategy("llama.cpp"), layout_);
  std::uint64_t padded = 0;
  for (const Tensor* t : copied_tensors(*layout_, CopyMode::kRepack))
    padded += (t->bytes + 63) / 64 * 64;
  EXPECT_EQ(m.copied_bytes(), padded) << "this host repacks " << describe(host_repack_cpu());
  EXPECT_LT(m.copied_bytes(), tensor_bytes());
  EXPECT_GE(m.copied_bytes(), tensor_bytes(true));
}

// --load-mode dio: one O_DIRECT read() per tensor of its aligned span; the page
// cache is bypassed, so storage supplies every aligned span.
TEST_F(LoadTensorsTest, DirectTensorsReadEachAlignedSpanOnce) {
  make_cold(*path_);
  Mapping m = load(*path_, parse_strategy("llama.cpp:direct"), layout_);
  EXPECT_TRUE(m.warnings().empty()) << m.warnings().front();
  EXPECT_EQ(m.read_calls(), layout_->tensors.size());
  EXPECT_LT(residency(*path_).pct(), 1.0) << "O_DIRECT leaves no page in the cache";
  expect_tensor_bytes(m.data());
}

// --load-mode mlock (node-llama-cpp's useMlock): no mapping; the host
// tensors' pages are locked, the repacked ones (this host's) are not.
TEST_F(LoadTensorsTest, LoadModeMlockLocksOnlyTheHostTensors) {
  const std::uint64_t lck0 = proc_field("/proc/self/status", "VmLck");
  Mapping m = load(*path_, parse_strategy("llama.cpp:load-mode=mlock"), layout_);
  if (!m.warnings().empty()) GTEST_SKIP() << "mlock refused here: " << m.warnings().front();
  EXPECT_TRUE(m.locked());
  const double locked = double(proc_field("/proc/self/status", "VmLck") - lck0);
  const double host = double(tensor_bytes() - tensor_bytes(true));
  EXPECT_NEAR(locked, host, double(2 * 4096 * layout_->tensors.size()));
  if (tensor_bytes(true) > 0)  // this host repacks some (not F16 without AMX)
    EXPECT_LT(locked, double(tensor_bytes())) << "the repacked tensors stay unlocked";
}

// lazy: its tensors get MADV_RANDOM and no MAP_POPULATE, so a touch reads
// (about) one page and readahead leaves the rest of the tensor on disk.
TEST_F(LoadTensorsTest, LazyTensorsFaultInPageByPage) {
  const Tensor* big = nullptr;
  for (const auto& t : layout_->tensors)
    if (!big || t.bytes > big->bytes) big = &t;
  ASSERT_GT(big->bytes, 1u << 20);
  make_cold(*path_);
  Mapping m = load(*path_, parse_strategy("mmap:shared,populate,advise=willneed,lazy=1M"), layout_);
  const std::uint64_t first = (big->offset + 4095) / 4096 * 4096;
  const std::uint64_t pages = (big->offset + big->bytes) / 4096 - first / 4096;
  volatile std::uint8_t sink = m.data()[first + 8 * 4096];
  (void)sink;
  std::vector<unsigned char> vec(pages);
  ASSERT_EQ(::mincore(const_cast<std::uint8_t*>(m.data()) + first, pages * 4096, vec.data()), 0);
  std::uint64_t resident = 0;
  for (unsigned char c : vec) resident += c & 1;
  EXPECT_GE(resident, 1u);
  EXPECT_LE(resident, 16u) << "of " << pages << " pages: MADV_RANDOM reads what is touched";
}

}  // namespace
}  // namespace faultline
