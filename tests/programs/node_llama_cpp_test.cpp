// The real llama.cpp that faultline measures beside its imitations
// (programs/node-llama-cpp, installed by scripts/setup): known answers about
// how it holds the model, read from /proc while the model is loaded. With
// mmap the model file is mapped whole; without it the file is not mapped at
// all and the weights are anonymous memory. Skips, saying why, where npm's
// package is not installed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/process.h"
#include "common/smaps.h"
#include "datasets/generator.h"
#include "datasets/gguf.h"
#include "tests/support/node_llama_cpp.h"

namespace faultline {
namespace {
namespace fs = std::filesystem;

struct MappingRss {
  std::uint64_t size_kib = 0, rss_kib = 0;
};

// Size and Rss of the mappings of the file `path` in /proc/PID/smaps.
MappingRss mapping_of(pid_t pid, const std::string& path) {
  const auto file = file_key(path);
  if (!file) return {};
  const auto maps = read_smaps(pid);
  return {file_field_bytes(maps, *file, "Size") / 1024,
          file_field_bytes(maps, *file, "Rss") / 1024};
}

class NodeLlamaCpp : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    std::string t = "/var/tmp/faultline-programs-XXXXXX";
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = new std::string(t);
    testing::llama_gguf(t + "/model.gguf", 64ull << 20, 5);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (auto why = testing::node_llama_cpp_missing()) GTEST_SKIP() << *why;
    node_ = find_program("node");
  }
  static std::string model() { return *dir_ + "/model.gguf"; }

  static std::string* dir_;
  std::string node_;
};
std::string* NodeLlamaCpp::dir_ = nullptr;

TEST_P(NodeLlamaCpp, HoldsTheModelAsItsModeSays) {
  const std::string mode = GetParam();
  int out[2], in[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  SpawnOptions o{
      {node_, testing::node_llama_cpp_dir() + "/load.mjs", model(), "--mode", mode, "--hold"}};
  o.stdin_fd = in[0];
  o.stdout_fd = out[1];
  const pid_t pid = spawn(o);
  ::close(out[1]);
  ::close(in[0]);
  std::string text;
  char buf[256];
  ssize_t n;
  while (text.find('\n') == std::string::npos && (n = ::read(out[0], buf, sizeof buf)) > 0)
    text.append(buf, std::size_t(n));
  ASSERT_THAT(text, ::testing::StartsWith("ready ")) << mode;
  const MappingRss m = mapping_of(pid, model());
  struct stat st {};
  ASSERT_EQ(::stat(model().c_str(), &st), 0);
  const std::uint64_t file_kib = (std::uint64_t(st.st_size) + 4095) / 4096 * 4;
  if (mode == "mmap") {
    // llama.cpp maps the whole file, then unmaps the fragments no tensor
    // uses (llama_mmap::unmap_fragment): here the pages before the first
    // tensor's data, i.e. the header.
    const std::uint64_t header_kib = read_gguf(model()).data_offset / 4096 * 4;
    EXPECT_EQ(m.size_kib, file_kib - header_kib) << "mapped: the file less its header pages";
    EXPECT_GT(m.rss_kib, file_kib / 2) << "and reads its tensors through the mapping";
  } else {
    EXPECT_EQ(m.size_kib, 0u) << "without mmap the file is read, never mapped";
  }
  ::close(in[1]);  // stdin closes: the loader frees the model and exits
  ExitInfo e = wait_child(pid, 60);
  ::close(out[0]);
  EXPECT_EQ(e.exit_code.value_or(-1), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, NodeLlamaCpp, ::testing::Values("mmap", "no-mmap"),
                         testing::ModeName());

}  // namespace
}  // namespace faultline
