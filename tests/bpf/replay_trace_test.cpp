// The order of a replay, seen by the kernel: faultline-bench replaying a
// recording of K scattered page faults under mmap:private,advise=random (one
// fault per page, no readahead) makes filemap faults at exactly those pages,
// in the recording's order (the tracer's timeline of the timed region).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/bpf/bpf_test_support.h"
#include "tests/support/capture.h"
#include "tests/support/recordings.h"

namespace faultline::testing {
namespace {

namespace fs = std::filesystem;

TEST(ReplayTrace, FilemapFaultsFollowTheRecordingsOrder) {
  SKIP_WITHOUT_BPF();
  constexpr std::uint64_t kSize = 64ull << 20;
  ColdFile file(kSize);
  const auto pages = scattered_pages(kSize, 64, 5);
  const std::string rec = file.path() + ".replay";
  write_page_recording(rec, file.path(), kSize, pages, recording::Op::kFault);
  fs::path dir = fs::temp_directory_path() / ("faultline-replay-tl-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto run =
      capture(std::string(FAULTLINE_BENCH) + " --model " + file.path() +
              " --strategies mmap:private,advise=random --patterns replay:" + rec +
              " --cache cold --reps 1 -q --trace --trace-timeline " + dir.string() + " 2>&1");
  ASSERT_EQ(run.status, 0) << run.out;
  std::vector<fs::path> timelines;
  for (const auto& e : fs::directory_iterator(dir)) timelines.push_back(e.path());
  ASSERT_EQ(timelines.size(), 1u);
  std::ifstream in(timelines[0]);
  auto tl = nlohmann::json::parse(in);
  std::vector<std::uint64_t> faulted;
  for (const auto& e : tl["timeline"])
    if (e["kind"] == "filemap_fault") faulted.push_back(e["offset"].get<std::uint64_t>() / 4096);
  EXPECT_EQ(faulted, pages);
  fs::remove_all(dir);
  fs::remove(rec);
}

}  // namespace
}  // namespace faultline::testing
