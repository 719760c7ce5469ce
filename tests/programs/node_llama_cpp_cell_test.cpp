// The real llama.cpp as a program cell of `faultline run` (issue 10 item 1):
// node-llama-cpp's load.mjs with --hold, ready at its "ready" line, cold and
// warm, mmap and no-mmap: every row ok, every metric measured or explained,
// and what each mode must hold (mmap: the model's mapping resident; no-mmap:
// the model is not mapped, its weights are anonymous memory). Root (the
// cell's cgroup and tracer); skips, saying why, without npm's package.
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.h"
#include "datasets/generator.h"
#include "tests/support/node_llama_cpp.h"

namespace faultline {
namespace {
namespace fs = std::filesystem;

class LlamaCell : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCell, ColdAndWarmRowsHaveEveryMetric) {
  if (auto why = testing::node_llama_cpp_missing()) GTEST_SKIP() << *why;
  const std::string d = testing::node_llama_cpp_dir();
  if (::geteuid() != 0) GTEST_SKIP() << "a program cell's cgroup and tracer need root";
  std::string t = "/var/tmp/faultline-llama-cell-XXXXXX";
  ASSERT_TRUE(::mkdtemp(t.data()));
  const std::string model = testing::llama_gguf(t + "/model.gguf", 64ull << 20, 5);
  const std::string mode = GetParam();
  ::setenv("FAULTLINE_BENCH", FAULTLINE_BENCH_EXE, 1);
  ::setenv("FAULTLINE_CACHE_DIR", (t + "/cache").c_str(), 1);
  const std::string err = t + "/run.err";
  int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SpawnOptions o{
      {FAULTLINE_EXE,      "run",
       "--model",          model,
       "--strategies",     "mmap:private",
       "--patterns",       "none",
       "--command",        "llama=node " + d + "/load.mjs {model} --mode " + mode + " --hold",
       "--ready",          "llama=^ready",
       "--cache",          "cold,warm",
       "--reps",           "1",
       "--traced-reps",    "1",
       "--no-calibration", "--results",
       t + "/results"},
      {},
      -1,
      err_fd,
      err_fd};
  ExitInfo e = wait_child(spawn(o), 600);
  ::close(err_fd);
  std::ifstream err_in(err);
  std::string err_text((std::istreambuf_iterator<char>(err_in)), {});
  ASSERT_EQ(e.exit_code.value_or(-1), 0) << err_text;
  std::string folder;
  for (const auto& f : fs::directory_iterator(t + "/results"))
    if (f.is_directory()) folder = f.path();
  std::ifstream rows(folder + "/runs.jsonl");
  std::string line;
  int program_rows = 0;
  const char* metrics[] = {"ready_ms",     "rss_bytes",      "rss_file_bytes",   "rss_anon_bytes",
                           "pss_bytes",    "peak_rss_bytes", "rss_model_bytes",  "major_faults",
                           "minor_faults", "read_bytes",     "cgroup_peak_bytes"};
  while (std::getline(rows, line)) {
    auto row = nlohmann::json::parse(line);
    if (row["strategy"] != "cmd:llama") continue;
    ++program_rows;
    SCOPED_TRACE(row["cell"].get<std::string>());
    ASSERT_EQ(row["status"], "ok") << row["error"];
    for (const char* m : metrics) EXPECT_TRUE(row["metrics"].contains(m)) << m << " measured";
    const double bytes = row["model_bytes"].get<double>();
    const double model_rss = row["metrics"]["rss_model_bytes"].get<double>();
    if (mode == "mmap") {
      EXPECT_GT(model_rss, bytes / 2) << "the mapped model is read through its mapping";
    } else {
      EXPECT_EQ(model_rss, 0) << "without mmap the model is never mapped";
    }
    EXPECT_GT(row["metrics"]["rss_anon_bytes"].get<double>(), mode == "mmap" ? 0 : bytes / 2);
    if (row["cache"] == "cold") {
      EXPECT_GE(row["metrics"]["read_bytes"].get<double>(), bytes * 0.9);
    }
  }
  EXPECT_EQ(program_rows, 4);  // cold, warm × untraced, traced
  fs::remove_all(t);
}

INSTANTIATE_TEST_SUITE_P(Modes, LlamaCell, ::testing::Values("mmap", "no-mmap"),
                         testing::ModeName());

}  // namespace
}  // namespace faultline
