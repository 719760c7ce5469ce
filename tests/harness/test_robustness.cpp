// Nothing lost, nothing left behind (issue 6): a full run leaves the model
// untouched (the kill-and-resume test is test_kill_and_resume.cpp). Also
// the least-privilege points that are cheap to check: no shell anywhere in the
// product, names sanitized before they become paths, run folders never reused.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/cgroup.h"
#include "common/process.h"
#include "datasets/generator.h"
#include "harness/cell_runner.h"
#include "harness/plan.h"
#include "harness/results_store.h"
#include "harness/runs_schema.h"
#include "tests/harness/robustness_fixture.h"
#include "tests/support/bpf_objects.h"

namespace faultline::harness {
namespace {

// FNV-1a 64 of every byte of the file.
std::uint64_t fnv1a(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t h = 1469598103934665603ull;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[std::size_t(i)]);
      h *= 1099511628211ull;
    }
  }
  return h;
}

TEST_F(Robustness, FullRunLeavesTheModelBytesAndTimesUnchanged) {
  struct stat before {};
  ASSERT_EQ(::stat(model().c_str(), &before), 0);
  const std::uint64_t sum_before = fnv1a(model());
  std::this_thread::sleep_for(20ms);  // any write would give a later mtime/ctime
  int code =
      finish(start({"run", "--model", model(), "--strategies",
                    "read,mmap:shared,populate,llama.cpp:mlock,direct", "--patterns", "sequential",
                    "--cache", "cold,warm", "--reps", "1", "--results", results_}));
  ASSERT_EQ(code, 0) << err_text();
  auto folders = run_folders();
  ASSERT_EQ(folders.size(), 1u);
  const auto plan = plan_from_json(nlohmann::json::parse(slurp(folders[0] + "/plan.json")));
  EXPECT_EQ(ResultsStore::open(folders[0]).rows().size(), 4u * 2 * (1 + plan.traced_reps));
  struct stat after {};
  ASSERT_EQ(::stat(model().c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(fnv1a(model()), sum_before);
}

TEST_F(Robustness, ResumeDropsLeftoversOfAKilledRun) {
  auto store = ResultsStore::create(results_, "host", "custom");
  store.write_json("plan.json", {{"a", 1}});
  for (const char* f : {"env.json.tmp.12345", "raw/0001-read-none-warm-rep1.json.part"})
    std::ofstream(store.path(f)) << "{\"half\":";
  fs::create_directories(store.path("raw/.0001-read-none-warm-rep1.timeline"));
  std::ofstream(store.path("runs.jsonl"), std::ios::binary) << "{\"complete\":1}\n{\"torn";
  auto again = ResultsStore::open(store.dir());
  EXPECT_FALSE(fs::exists(store.path("env.json.tmp.12345")));
  EXPECT_FALSE(fs::exists(store.path("raw/0001-read-none-warm-rep1.json.part")));
  EXPECT_FALSE(fs::exists(store.path("raw/.0001-read-none-warm-rep1.timeline")));
  EXPECT_EQ(slurp(store.path("runs.jsonl")), "{\"complete\":1}\n");
  EXPECT_TRUE(fs::exists(store.path("plan.json")));
}

TEST_F(Robustness, TwoRunsStartedInTheSameSecondGetTheirOwnFolders) {
  std::vector<std::string> args = {"run",        "--model",    model(), "--strategies",
                                   "read",       "--patterns", "none",  "--cache",
                                   "warm",       "--reps",     "1",     "--no-calibration",
                                   "--no-trace", "--results",  results_};
  pid_t a = start(args, ".a");
  pid_t b = start(args, ".b");
  EXPECT_EQ(finish(a), 0) << err_text(".a");
  EXPECT_EQ(finish(b), 0) << err_text(".b");
  auto folders = run_folders();
  ASSERT_EQ(folders.size(), 2u);
  for (const auto& f : folders) EXPECT_EQ(ResultsStore::open(f).rows().size(), 1u) << f;
  // And in-process, many in the same second: never the same folder twice.
  std::set<std::string> dirs;
  for (int i = 0; i < 5; ++i) dirs.insert(ResultsStore::create(results_, "h", "p").dir());
  EXPECT_EQ(dirs.size(), 5u);
}

TEST(PathSafety, HostPresetAndCellNamesNeverLeaveTheirFolder) {
  std::string t = "/var/tmp/faultline-pathsafe-XXXXXX";
  std::string root = ::mkdtemp(t.data());
  auto store = ResultsStore::create(root, "../../etc/host", "../preset/x");
  EXPECT_EQ(fs::path(store.dir()).parent_path(), fs::path(root));
  EXPECT_EQ(store.run_id().find('/'), std::string::npos);
  for (const char* evil : {"..", ".", "../x", "a/b", "/etc/passwd", ""}) {
    Cell c{evil, evil, evil, 1};
    std::string stem = raw_stem(c, 0);
    EXPECT_EQ(stem.find('/'), std::string::npos) << stem;
    EXPECT_NE(stem, "..");
  }
  fs::remove_all(root);
}

// The product starts processes with argument vectors only: no system(),
// popen(), exec of a shell or "sh -c" anywhere outside the tests.
TEST(NoShell, ProductSourcesNeverStartAShell) {
  const std::regex bad(R"((^|[^A-Za-z0-9_.>:])(std::)?(system|popen|execl|execlp|execle)\s*\()"
                       R"(|/bin/sh|"sh"|sh -c|bash -c)");
  std::vector<std::string> hits;
  std::size_t files = 0;
  for (const char* area :
       {"common", "harness", "benchmarks", "bpf", "datasets", "analysis", "programs"}) {
    fs::path dir = fs::path(FAULTLINE_SOURCE_DIR) / area;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".h" && ext != ".c" && ext != ".hpp") continue;
      ++files;
      std::ifstream in(e.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        auto trimmed = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
        if (trimmed.rfind("//", 0) == 0 || trimmed.rfind("*", 0) == 0) continue;  // comments
        if (std::regex_search(line, bad))
          hits.push_back(e.path().string() + ":" + std::to_string(n) + ": " + line);
      }
    }
  }
  EXPECT_GT(files, 20u);
  EXPECT_THAT(hits, ::testing::IsEmpty());
}

}  // namespace
}  // namespace faultline::harness
