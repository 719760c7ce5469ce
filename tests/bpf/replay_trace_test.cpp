// The order of a replay, seen by the kernel: faultline-bench replaying a
// recording of K scattered page faults under mmap:private,advise=random (one
// fault per page, no readahead) makes filemap faults at exactly those pages,
// in the recording's order (the tracer's timeline of the timed region), also
// when the faults were three threads' taking turns.
// End to end: `faultline trace --record` of faultline-bench running a seeded
// random:N under mmap:private,advise=random records its faults in the
// pattern's order, and the replay of that recording faults the same pages in
// the same order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "benchmarks/access_pattern.h"
#include "recording/recording.h"
#include "tests/bpf/bpf_test_support.h"
#include "tests/support/capture.h"
#include "tests/support/recordings.h"

namespace faultline::testing {
namespace {

namespace fs = std::filesystem;

// The filemap faults (page indexes, in order) of faultline-bench replaying
// `rec` under mmap:private,advise=random on a cold `model`.
std::vector<std::uint64_t> replay_faults(const std::string& model, const std::string& rec) {
  fs::path dir = fs::temp_directory_path() / ("faultline-replay-tl-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto run =
      capture(std::string(FAULTLINE_BENCH) + " --model " + model +
              " --strategies mmap:private,advise=random --patterns replay:" + rec +
              " --cache cold --reps 1 -q --trace --trace-timeline " + dir.string() + " 2>&1");
  EXPECT_EQ(run.status, 0) << run.out;
  std::vector<fs::path> timelines;
  for (const auto& e : fs::directory_iterator(dir)) timelines.push_back(e.path());
  std::vector<std::uint64_t> faulted;
  EXPECT_EQ(timelines.size(), 1u);
  if (timelines.size() == 1) {
    std::ifstream in(timelines[0]);
    auto tl = nlohmann::json::parse(in);
    for (const auto& e : tl["timeline"])
      if (e["kind"] == "filemap_fault") faulted.push_back(e["offset"].get<std::uint64_t>() / 4096);
  }
  fs::remove_all(dir);
  return faulted;
}

// The pages of `ranges` in the order of their first touch.
std::vector<std::uint64_t> first_touches(const std::vector<Range>& ranges) {
  std::set<std::uint64_t> seen;
  std::vector<std::uint64_t> out;
  for (const auto& r : ranges)
    for (std::uint64_t p = r.offset / 4096; p < (r.offset + r.bytes + 4095) / 4096; ++p)
      if (seen.insert(p).second) out.push_back(p);
  return out;
}

// A recording of `k` scattered page faults of the threads `tids` (taking
// turns, 1 µs apart) on a cold 64 MiB file: the replay's filemap faults.
void expect_replay_faults_in_recorded_order(std::size_t k, std::uint64_t seed,
                                            const std::vector<std::uint32_t>& tids) {
  constexpr std::uint64_t kSize = 64ull << 20;
  ColdFile file(kSize);
  const auto pages = scattered_pages(kSize, k, seed);
  const std::string rec = file.path() + ".replay";
  write_page_recording(rec, file.path(), kSize, pages, recording::Op::kFault, tids);
  EXPECT_EQ(replay_faults(file.path(), rec), pages);
  fs::remove(rec);
}

TEST(ReplayTrace, FilemapFaultsFollowTheRecordingsOrder) {
  SKIP_WITHOUT_BPF();
  expect_replay_faults_in_recorded_order(64, 5, {1});
}

TEST(ReplayTrace, FilemapFaultsFollowTheRecordingsOrderAcrossThreads) {
  SKIP_WITHOUT_BPF();
  // Three threads taking turns: the replay's three threads fault in exactly
  // that interleaving (each waits for the others' earlier faults), not each
  // at its own pace.
  expect_replay_faults_in_recorded_order(48, 9, {1, 2, 3});
}

#ifdef FAULTLINE_EXE
TEST(ReplayTrace, RecordedRandomPatternReplaysTheSamePagesInTheSameOrder) {
  SKIP_WITHOUT_BPF();
  constexpr std::uint64_t kSize = 64ull << 20;
  ColdFile file(kSize);
  const std::string rec = file.path() + ".replay";
  auto run = capture(std::string(FAULTLINE_EXE) + " trace --file " + file.path() + " --record " +
                     rec + " -- " + FAULTLINE_BENCH + " --model " + file.path() +
                     " --strategies mmap:private,advise=random --patterns random:64 --seed 42"
                     " --cache cold --reps 1 -q 2>&1");
  ASSERT_EQ(run.status, 0) << run.out;
  const recording::Recording r = recording::read_recording(rec);
  EXPECT_EQ(r.header.file_bytes, kSize);
  // The recorded faults are the pattern's pages in its order.
  ModelLayout layout;
  layout.file_size = kSize;
  const auto pattern = first_touches(plan_ranges(parse_pattern("random:64"), layout, 42));
  std::vector<std::uint64_t> recorded_faults;
  for (const auto& e : r.events)
    if (e.op == recording::Op::kFault) recorded_faults.push_back(e.offset / 4096);
  EXPECT_EQ(recorded_faults, pattern);
  // The replay touches the recording's ranges (the faults, and what
  // faultline-bench read of the file to learn its format) in the same order.
  std::vector<Range> sequence;
  for (const auto& a : recording::access_sequence(r)) sequence.push_back({a.offset, a.bytes});
  const auto replayed = replay_faults(file.path(), rec);
  EXPECT_EQ(replayed, first_touches(sequence));
  // ... and so the pattern's pages, in its order, after those reads.
  std::vector<std::uint64_t> faults_only;
  for (auto p : replayed)
    if (std::find(pattern.begin(), pattern.end(), p) != pattern.end()) faults_only.push_back(p);
  EXPECT_EQ(faults_only, pattern);
  fs::remove(rec);
}
#endif

}  // namespace
}  // namespace faultline::testing
