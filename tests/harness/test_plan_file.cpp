// --plan FILE: unknown keys and wrongly typed values are errors naming the
// file, the key and what was expected, and a bad plan writes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness/plan.h"
#include "tests/harness/run_helpers.h"

namespace faultline::harness {
namespace {

using ::testing::HasSubstr;

class PlanFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/faultline-planfile-" + std::to_string(::getpid()) + ".json";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  // The error merge_plan_file gives for `json`, or "accepted".
  std::string error_of(const std::string& json) {
    std::ofstream(path_) << json;
    try {
      PlanRequest r;
      r.merge_plan_file(path_);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  }
  void expect_rejected(const std::string& key, const std::string& value, const std::string& what) {
    const std::string json = "{\"" + key + "\": " + value + "}";
    SCOPED_TRACE(json);
    const std::string e = error_of(json);
    EXPECT_THAT(e, HasSubstr("plan file " + path_));
    EXPECT_THAT(e, HasSubstr("\"" + key + "\""));
    EXPECT_THAT(e, HasSubstr(what));
  }
  std::string path_;
};

TEST_F(PlanFile, WronglyTypedValuesNameTheFileTheKeyAndWhatWasExpected) {
  expect_rejected("seed", "\"7\"", "expected a whole number 0..18446744073709551615");
  expect_rejected("seed", "-7", "not a whole number");
  expect_rejected("drop_caches", "\"yes\"", "expected true or false");
  expect_rejected("drop_caches", "1", "not a boolean");
  expect_rejected("reps", "-1", "expected a whole number 1..1000");
  expect_rejected("reps", "0", "out of range");
  expect_rejected("reps", "2.5", "not a whole number");
  expect_rejected("reps", "\"3\"", "not a whole number");
  expect_rejected("reps", "1e9", "not a whole number");
  expect_rejected("traced_reps", "-1", "expected a whole number 0..1000");
  expect_rejected("processes", "0", "expected a whole number 1..256");
  expect_rejected("processes", "1.5", "not a whole number");
  expect_rejected("strategies", "\"read,mmap:sideways\"", "sideways");
  expect_rejected("strategies", "[\"read\", 7]", "not a string");
  expect_rejected("strategies", "7", "expected strategy specs");
  expect_rejected("strategies", "\"\"", "is empty");
  expect_rejected("patterns", "\"sideways\"", "does not parse");
  expect_rejected("caches", "[\"cold\", \"tepid\"]", "tepid");
  expect_rejected("cache", "\"lukewarm\"", "lukewarm");
  expect_rejected("size", "\"lots\"", "expected a size with a unit");
  expect_rejected("size", "64", "not a string");
  expect_rejected("memory_limit", "\"2\"", "does not parse");
  expect_rejected("preset", "\"turbo\"", "unknown preset; valid: quick");
  expect_rejected("model", "[\"a\"]", "expected a path");
  expect_rejected("cell_timeout_s", "\"60\"", "not a number");
  expect_rejected("cell_timeout_s", "-1", "out of range");
  expect_rejected("cell_timeout_s", "1e30", "out of range");
}

TEST_F(PlanFile, UnknownKeysAreRejectedWithTheValidOnes) {
  const std::string e = error_of(R"({"strategy": "read"})");
  EXPECT_THAT(e, HasSubstr("plan file " + path_));
  EXPECT_THAT(e, HasSubstr("unknown key \"strategy\""));
  EXPECT_THAT(e, HasSubstr("valid: preset, model, size, strategies"));
}

TEST_F(PlanFile, EveryKeyWithAGoodValueIsTaken) {
  std::ofstream(path_) << R"({"preset": "llama.cpp", "size": "64M",
      "strategies": ["read", "mmap:private,mlock=soft"], "patterns": "none,random:10",
      "caches": ["warm"], "memory_limit": "1G", "reps": 2, "traced_reps": 0, "processes": 2,
      "seed": 7, "drop_caches": true, "cell_timeout_s": 90.5})";
  PlanRequest r;
  r.merge_plan_file(path_);
  EXPECT_EQ(r.preset, "llama.cpp");
  EXPECT_EQ(r.strategies, "read,mmap:private,mlock=soft");
  EXPECT_EQ(r.caches, "warm");
  EXPECT_EQ(r.reps, 2);
  EXPECT_EQ(r.traced_reps, 0);
  EXPECT_EQ(r.processes, 2);
  EXPECT_EQ(r.seed, 7u);
  EXPECT_TRUE(r.drop_caches);
  EXPECT_DOUBLE_EQ(r.cell_timeout_s, 90.5);
  Plan p = resolve_plan(r, 1);
  EXPECT_THAT(p.strategies, ::testing::ElementsAre("read", "mmap:private,mlock=soft"));
}

// A bad plan stops `faultline run` with status 2 before the run folder exists.
TEST_F(PlanFile, ABadPlanWritesNothing) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "/faultline-badplan-" + std::to_string(::getpid());
  fs::create_directories(dir + "/results");
  for (const char* bad :
       {R"({"seed": "7"})", R"({"drop_caches": "yes"})", R"({"strategies": "mmap:sideways"})",
        R"({"size": "lots"})", R"({"reps": 1.5})", R"({"nope": 1})"}) {
    SCOPED_TRACE(bad);
    std::ofstream(path_) << bad;
    auto r = testing::run_faultline({"run", "--plan", path_, "--results", dir + "/results",
                                     "--no-calibration", "--no-trace", "-q"},
                                    dir + "/run");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("plan file " + path_));
    EXPECT_TRUE(testing::run_folders(dir + "/results").empty()) << "a run folder was written";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faultline::harness
