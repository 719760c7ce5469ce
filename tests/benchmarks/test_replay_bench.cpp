// faultline-bench --patterns replay:FILE end to end, known answers on a cold
// file: a recording of K scattered 4 KiB reads replayed under read reads
// exactly those K pages (read_bytes, touched_bytes, the pages resident
// afterwards); under mmap:private,advise=random it faults exactly K pages.
// A recording of another file size is refused before anything runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "tests/support/capture.h"
#include "tests/support/recordings.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

using ::testing::HasSubstr;
using testing::TempFile;

constexpr std::uint64_t kSize = 64ull << 20;
constexpr std::size_t kK = 40;

class ReplayBenchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { file_ = new TempFile(kSize, 31); }
  static void TearDownTestSuite() { delete file_; }
  void SetUp() override {
    rec_ = file_->path() + ".replay";
    json_ = file_->path() + ".json";
    pages_ = testing::scattered_pages(kSize, kK, 99);
  }
  void TearDown() override {
    std::remove(rec_.c_str());
    std::remove(json_.c_str());
  }
  // The one cell's metrics of faultline-bench --json.
  nlohmann::json bench(const std::string& strategy) {
    auto r = testing::capture(std::string(FAULTLINE_BENCH) + " --model " + file_->path() +
                              " --strategies '" + strategy + "' --patterns replay:" + rec_ +
                              " --cache cold --reps 1 -q --json " + json_ + " 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    std::ifstream in(json_);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object() || j["cells"].empty()) return nlohmann::json::object();
    EXPECT_EQ(j["cells"][0]["cell"], "load/" + strategy + "/replay:" + rec_ + "/cold");
    return j["cells"][0]["metrics"];
  }
  std::set<std::uint64_t> recorded() const { return {pages_.begin(), pages_.end()}; }

  static TempFile* file_;
  std::string rec_, json_;
  std::vector<std::uint64_t> pages_;
};
TempFile* ReplayBenchTest::file_ = nullptr;

TEST_F(ReplayBenchTest, ReadReadsExactlyTheRecordedPages) {
  testing::write_page_recording(rec_, file_->path(), kSize, pages_);
  auto m = bench("read");
  EXPECT_EQ(m.value("read_bytes", -1.0), double(kK * 4096));
  EXPECT_EQ(m.value("touched_bytes", -1.0), double(kK * 4096));
  EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
}

TEST_F(ReplayBenchTest, RandomAdvisedMappingFaultsExactlyTheRecordedPages) {
  testing::write_page_recording(rec_, file_->path(), kSize, pages_, recording::Op::kFault);
  auto m = bench("mmap:private,advise=random");
  EXPECT_EQ(m.value("major_faults", -1.0), double(kK));
  EXPECT_EQ(m.value("read_bytes", -1.0), double(kK * 4096));
  EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
}

TEST_F(ReplayBenchTest, ARecordingOfAnotherFileIsRefusedBeforeAnythingRuns) {
  testing::write_page_recording(rec_, "/elsewhere/m.gguf", kSize * 2, pages_);
  auto r = testing::capture(std::string(FAULTLINE_BENCH) + " --model " + file_->path() +
                            " --strategies read --patterns replay:" + rec_ +
                            " --cache warm --reps 1 -q --json " + json_ + " 2>&1");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr(rec_ + " records a file of 134217728 bytes (/elsewhere/m.gguf)"));
  EXPECT_FALSE(std::ifstream(json_).good()) << "no partial output";
}

}  // namespace
}  // namespace faultline
