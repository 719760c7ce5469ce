// damon_pageout(): a fake sysfs tree with the kdamond of these VMs (paddr,
// pageout of memory cold for 12 aggregations of 5 s, 128 MiB per second,
// anon rejected, unmapped allowed), one that is off, one that only
// monitors, the damon_reclaim module, watermarks, and a state only root reads.
#include "harness/damon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DamonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("faultline-damon-" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& rel, const std::string& value) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << value << "\n";
  }
  // kdamond N with one context and one scheme of `action`.
  void kdamond(int n, const std::string& state, const std::string& action) {
    const std::string k = "kernel/mm/damon/admin/kdamonds/" + std::to_string(n) + "/";
    put(k + "state", state);
    put(k + "pid", std::to_string(70 + n));
    const std::string c = k + "contexts/0/";
    put(c + "operations", "paddr");
    put(c + "monitoring_attrs/intervals/aggr_us", "5000000");
    const std::string s = c + "schemes/0/";
    put(s + "action", action);
    put(s + "access_pattern/age/min", "12");
    put(s + "quotas/bytes", "134217728");
    put(s + "quotas/reset_interval_ms", "1000");
    put(s + "ops_filters/0/type", "anon");
    put(s + "ops_filters/0/matching", "Y");
    put(s + "ops_filters/0/allow", "N");
    put(s + "ops_filters/1/type", "unmapped");
    put(s + "ops_filters/1/matching", "Y");
    put(s + "ops_filters/1/allow", "Y");
  }
  fs::path root_;
};

TEST_F(DamonTest, NoDamonIsNoPageout) {
  EXPECT_TRUE(damon_pageout(root_.string()).schemes.empty());
}

TEST_F(DamonTest, ARunningPageoutSchemeIsDescribed) {
  kdamond(0, "on", "pageout");
  const auto found = damon_pageout(root_.string()).schemes;
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("kdamond 0 (pid 70): pageout of physical memory not accessed "
                                  "for 60 s (12 aggregations of 5 s), at most 128M per 1 s"));
  EXPECT_THAT(found[0], HasSubstr("filters: anon rejected, unmapped allowed"));
  EXPECT_THAT(found[0], HasSubstr("echo off > " +
                                  (root_ / "kernel/mm/damon/admin/kdamonds/0/state").string()));
}

TEST_F(DamonTest, OffOrNotPageoutIsNotReported) {
  kdamond(0, "off", "pageout");
  kdamond(1, "on", "stat");
  EXPECT_TRUE(damon_pageout(root_.string()).schemes.empty());
  kdamond(2, "on", "pageout");
  const auto found = damon_pageout(root_.string()).schemes;
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("kdamond 2 "));
}

TEST_F(DamonTest, TheReclaimModuleCountsWhenEnabled) {
  put("module/damon_reclaim/parameters/enabled", "N");
  put("module/damon_reclaim/parameters/min_age", "120000000");
  EXPECT_TRUE(damon_pageout(root_.string()).schemes.empty());
  put("module/damon_reclaim/parameters/enabled", "Y");
  const auto found = damon_pageout(root_.string()).schemes;
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("damon_reclaim (the kernel module): pageout of memory not "
                                  "accessed for 120 s"));
}

TEST_F(DamonTest, WatermarksAndAccessBoundsAreSaid) {
  kdamond(0, "on", "pageout");
  const std::string s = "kernel/mm/damon/admin/kdamonds/0/contexts/0/schemes/0/";
  put(s + "access_pattern/nr_accesses/max", "1");
  put(s + "watermarks/metric", "free_mem_rate");
  put(s + "watermarks/high", "500");
  put(s + "watermarks/low", "200");
  const auto found = damon_pageout(root_.string()).schemes;
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("pageout of physical memory accessed in at most 1 sample per "
                                  "aggregation for 60 s"));
  EXPECT_THAT(found[0], HasSubstr("only while free_mem_rate is within its watermarks (high 500, "
                                  "low 200)"));
}

TEST_F(DamonTest, ForEnvJsonTheSentencesOrWhyUnknown) {
  kdamond(0, "on", "pageout");
  const auto d = damon_pageout(root_.string());
  EXPECT_EQ(damon_json(d), nlohmann::json(d.schemes));
  EXPECT_EQ(damon_json({{}, "x: Permission denied"}), "unknown: x: Permission denied");
  EXPECT_TRUE(damon_json({}).is_array());
}

TEST_F(DamonTest, AStateOnlyRootReadsIsUnknown) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file: needs an unprivileged user";
  kdamond(0, "on", "pageout");
  fs::permissions(root_ / "kernel/mm/damon/admin/kdamonds/0/state", fs::perms::owner_write);
  const auto d = damon_pageout(root_.string());
  EXPECT_TRUE(d.schemes.empty());
  EXPECT_THAT(d.unknown, HasSubstr("Permission denied (run as root to see DAMON's schemes)"));
}

}  // namespace
}  // namespace faultline::harness
