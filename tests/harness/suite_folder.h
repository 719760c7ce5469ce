// The folder a harness test suite shares: /var/tmp/<prefix>-XXXXXX (a disk,
// not tmpfs: readahead and O_DIRECT behave as on a real model) holding
// model.gguf, and the environment that makes `faultline run` use this build's
// executables and a private model cache inside it.
#pragma once

#include <stdlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/generator.h"

namespace faultline::harness::testing {

inline std::string make_suite_folder(const std::string& prefix, std::uint64_t model_bytes,
                                     std::uint64_t seed) {
  std::string t = "/var/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp " + t + " failed");
  GenOptions g;
  g.format = ModelFormat::kGguf;
  g.size = model_bytes;
  g.seed = seed;
  g.out = t + "/model.gguf";
  ensure_model(g);
  ::setenv("FAULTLINE_BENCH", FAULTLINE_BENCH_EXE, 1);
  ::setenv("FAULTLINE_HOLD", FAULTLINE_HOLD_EXE, 1);
  ::setenv("FAULTLINE_CACHE_DIR", (t + "/cache").c_str(), 1);
  return t;
}

// A suite of tests sharing one such folder (made once per suite, removed
// after it) with a results folder per test: <folder>/results-<test name>.
// Derived names its folder prefix, model size and seed:
//   class RunE2E : public RunSuite<RunE2E> { public: static constexpr ... };
template <class Derived>
class RunSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        make_suite_folder(Derived::kFolderPrefix, Derived::kModelBytes, Derived::kSeed));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    results_ = *dir_ + "/results-" + name_;
  }
  static std::string model() { return *dir_ + "/model.gguf"; }
  // The run folders under `results` (default: this test's), sorted.
  std::vector<std::string> run_folders(const std::string& results = "") const {
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator(results.empty() ? results_ : results, ec))
      if (e.is_directory()) dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }
  // The one run folder (a failure when there is not exactly one).
  std::string folder() const {
    auto f = run_folders();
    EXPECT_EQ(f.size(), 1u);
    return f.empty() ? "" : f.front();
  }

  inline static std::string* dir_ = nullptr;
  std::string name_, results_;
};

}  // namespace faultline::harness::testing
