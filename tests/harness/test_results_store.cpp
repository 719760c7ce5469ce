// The results store: atomic files, whole fsynced rows, torn lines dropped on
// resume, unwritable folders refused.
#include "harness/results_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/runs_schema.h"

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string t = fs::temp_directory_path().string() + "/faultline-store-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

nlohmann::json row(const std::string& strategy, int rep) {
  runs::Row r;
  r.run_id = "x";
  r.strategy = strategy;
  r.pattern = "none";
  r.cache = "warm";
  r.rep = rep;
  r.started_at = "2026-11-28T12:00:00Z";
  r.model = "/m";
  r.metrics = {{"ready_ms", 1}};
  return runs::to_json(r);
}

TEST(ResultsStore, CreatesTheRunFolderAndAppendsRows) {
  TempDir d;
  auto store = ResultsStore::create(d.path, "host", "custom");
  EXPECT_THAT(store.run_id(), ::testing::MatchesRegex("[0-9]{8}T[0-9]{6}Z-host-custom"));
  EXPECT_TRUE(fs::is_directory(store.path("raw")));
  store.write_json("plan.json", {{"a", 1}});
  EXPECT_EQ(store.read_json("plan.json")["a"], 1);
  store.append_row(row("read", 1));
  store.append_row(row("read", 2));
  EXPECT_EQ(store.rows().size(), 2u);
  EXPECT_EQ(store.done_keys(),
            (std::set<std::string>{"load/read/none/warm#1", "load/read/none/warm#2"}));
  // Same second, same preset: a second folder, not a clash.
  auto other = ResultsStore::create(d.path, "host", "custom");
  EXPECT_NE(other.dir(), store.dir());
  // No temporary files left behind.
  for (const auto& e : fs::directory_iterator(store.dir()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(ResultsStore, InvalidRowsAreRefused) {
  TempDir d;
  auto store = ResultsStore::create(d.path, "host", "custom");
  auto bad = row("read", 1);
  bad.erase("status");
  EXPECT_THROW(store.append_row(bad), std::logic_error);
  EXPECT_TRUE(store.rows().empty());
}

TEST(ResultsStore, ResumeDropsATornLastLine) {
  TempDir d;
  auto store = ResultsStore::create(d.path, "host", "custom");
  store.write_json("plan.json", {{"a", 1}});
  store.append_row(row("read", 1));
  {
    std::ofstream out(store.path("runs.jsonl"), std::ios::app);
    out << R"({"schema_version": 1, "cell": "load/re)";  // a crash mid-append
  }
  auto reopened = ResultsStore::open(store.dir());
  EXPECT_EQ(reopened.rows().size(), 1u);
  reopened.append_row(row("read", 2));
  EXPECT_EQ(reopened.rows().size(), 2u);
}

TEST(ResultsStore, ResumeNeedsARunFolder) {
  TempDir d;
  EXPECT_THROW(ResultsStore::open(d.path + "/missing"), std::invalid_argument);
  EXPECT_THROW(ResultsStore::open(d.path), std::invalid_argument);  // no plan.json
}

TEST(ResultsStore, UnwritableFolderIsRefused) {
  TempDir d;
  std::string file = d.path + "/a-file";
  std::ofstream(file) << "x";
  try {
    check_writable(file + "/results");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("not writable"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr(file));
  }
  EXPECT_NO_THROW(check_writable(d.path + "/new/results"));
}

}  // namespace
}  // namespace faultline::harness
