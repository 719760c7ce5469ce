// replay:FILE: the pattern's text, its plan from a recording (order, clipping,
// threads, a recording of another file), and what a replay physically does:
// read-based strategies read exactly the recorded ranges (bytes read, pages
// resident), a random-advised mapping faults exactly once per recorded page.
#include "benchmarks/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "benchmarks/measure.h"
#include "schema/metrics.h"
#include "tests/support/recordings.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

using recording::Event;
using recording::Op;
using ::testing::HasSubstr;
using testing::TempFile;

constexpr std::uint64_t kPage = 4096;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/faultline-replay-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  static ModelLayout raw(const std::string& path, std::uint64_t size) {
    ModelLayout l;
    l.path = path;
    l.file_size = size;
    l.tensors.push_back({"data", 0, size, "U8", -1, -1});
    return l;
  }
  // A recording of `events` for a file of `bytes`.
  std::string write(std::uint64_t bytes, std::vector<Event> events) {
    recording::Recording r;
    r.header.path = "/recorded/m.gguf";
    r.header.file_bytes = bytes;
    r.header.complete = {true, "sampled", true, true, 0, ""};
    r.events = std::move(events);
    std::string path = dir_ + "/r" + std::to_string(++n_) + ".replay";
    recording::write_recording(path, r);
    return path;
  }
  std::string dir_;
  int n_ = 0;
};

TEST_F(ReplayTest, ParseAndCanonicalForm) {
  AccessPattern p = parse_pattern("replay:/abs/llama.replay");
  EXPECT_EQ(p.kind, PatternKind::kReplay);
  EXPECT_EQ(p.replay_file, "/abs/llama.replay");
  EXPECT_FALSE(p.replay_gaps);
  for (std::string s : {"replay:/abs/llama.replay", "replay:rel/x.replay,gaps=on", "replay:x"})
    EXPECT_EQ(to_string(parse_pattern(s)), s);
  EXPECT_EQ(to_string(parse_pattern("replay:x,gaps=off")), "replay:x");
  EXPECT_TRUE(parse_pattern("replay:x,gaps=on").replay_gaps);
  EXPECT_EQ(parse_pattern(to_string(parse_pattern("replay:a b/c,gaps=on"))),
            parse_pattern("replay:a b/c,gaps=on"));
  EXPECT_THROW(parse_pattern("replay:"), std::invalid_argument);
  try {
    parse_pattern("replay:x,speed=2");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown replay option 'speed=2'"));
  }
  auto list = parse_pattern_list("none,replay:x.replay,gaps=on,forward");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(to_string(list[1]), "replay:x.replay,gaps=on");
  EXPECT_EQ(list[2].kind, PatternKind::kForward);
}

TEST_F(ReplayTest, PlanIsTheAccessSequenceInOrderClippedToTheModel) {
  const std::uint64_t size = 10 * kPage + 100;
  std::string path = write(size, {
                                     {0, 1, Op::kSyscall, 0, 0, "openat", 3, nullptr},
                                     {1, 1, Op::kRead, 8 * kPage, 2 * kPage, "pread64"},
                                     {2, 1, Op::kReadahead, 0, 64 * kPage, "sync"},
                                     {3, 1, Op::kFault, 2 * kPage, kPage, ""},
                                     {4, 1, Op::kFaultAround, 0, 16 * kPage, ""},
                                     {5, 1, Op::kPopulate, 4 * kPage, 2 * kPage, "madvise"},
                                     {6, 1, Op::kFault, 10 * kPage, kPage, ""},  // last page
                                     {7, 1, Op::kRead, 0, 0, "read"},            // EOF
                                     {8, 1, Op::kFault, 20 * kPage, kPage, ""},  // past EOF
                                 });
  auto ranges = plan_ranges(parse_pattern("replay:" + path), raw("m", size));
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_EQ(ranges[0].offset, 8 * kPage);
  EXPECT_EQ(ranges[0].bytes, 2 * kPage);
  EXPECT_EQ(ranges[1].offset, 2 * kPage);
  EXPECT_EQ(ranges[2].offset, 4 * kPage);
  EXPECT_EQ(ranges[3].offset, 10 * kPage);
  EXPECT_EQ(ranges[3].bytes, 100u);  // clipped to the model
  EXPECT_EQ(bytes_covered(ranges, size), 5 * kPage + 100);
}

TEST_F(ReplayTest, ARecordingOfAnotherSizeIsAnErrorNamingTheFile) {
  std::string path = write(8 * kPage, {{0, 1, Op::kRead, 0, kPage, "read"}});
  try {
    plan_ranges(parse_pattern("replay:" + path), raw("/models/m.gguf", 9 * kPage));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("32768 bytes (/recorded/m.gguf)"));
    EXPECT_THAT(e.what(), HasSubstr("the model /models/m.gguf is 36864 bytes"));
  }
}

TEST_F(ReplayTest, AnUnreadableRecordingIsAnErrorNamingFileAndLine) {
  std::string path = write(8 * kPage, {});
  std::system(("echo '{\"t_ns\":1}' >> " + path).c_str());
  try {
    plan_ranges(parse_pattern("replay:" + path), raw("m", 8 * kPage));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ":2: the event has no \"tid\""));
  }
  EXPECT_THROW(plan_ranges(parse_pattern("replay:" + dir_ + "/absent"), raw("m", 8 * kPage)),
               std::invalid_argument);
}

TEST_F(ReplayTest, OneStreamPerThreadInOrderOfFirstEvent) {
  std::string path = write(16 * kPage, {
                                           {0, 9, Op::kRead, 1 * kPage, kPage, ""},
                                           {1, 7, Op::kRead, 2 * kPage, kPage, ""},
                                           {5, 9, Op::kFault, 3 * kPage, kPage, ""},
                                           {6, 7, Op::kRead, 4 * kPage, kPage, ""},
                                           {9, 9, Op::kPopulate, 5 * kPage, kPage, ""},
                                       });
  ReplayPlan plan = plan_replay(parse_pattern("replay:" + path), raw("m", 16 * kPage));
  ASSERT_EQ(plan.tids, (std::vector<std::uint32_t>{9, 7}));
  ASSERT_EQ(plan.streams.size(), 2u);
  ASSERT_EQ(plan.streams[0].ranges.size(), 3u);
  EXPECT_EQ(plan.streams[0].ranges[1].offset, 3 * kPage);
  EXPECT_EQ(plan.streams[0].t_ns, (std::vector<std::uint64_t>{0, 5, 9}));
  ASSERT_EQ(plan.streams[1].ranges.size(), 2u);
  EXPECT_EQ(plan.streams[1].ranges[1].offset, 4 * kPage);
  EXPECT_EQ(plan.ranges.size(), 5u);
}

// ---- physical: a cold file, K scattered pages ----

constexpr std::uint64_t kSize = 64ull << 20;
constexpr std::size_t kK = 48;

class ReplayLoadTest : public ReplayTest {
 protected:
  static void SetUpTestSuite() { file_ = new TempFile(kSize, 23); }
  static void TearDownTestSuite() { delete file_; }

  Measurement run(const std::string& strategy, const std::vector<std::uint32_t>& tids,
                  Op op = Op::kRead, bool gaps = false) {
    pages_ = testing::scattered_pages(kSize, kK);
    const std::string rec = dir_ + "/k.replay";
    testing::write_page_recording(rec, file_->path(), kSize, pages_, op, tids);
    LoadCell cell{parse_strategy(strategy),
                  parse_pattern("replay:" + rec + (gaps ? ",gaps=on" : "")), CacheState::kCold};
    return measure_load(file_->path(), raw(file_->path(), kSize), cell);
  }
  static double get(const Measurement& m, std::string_view name) {
    auto it = m.metrics.find(std::string(name));
    EXPECT_NE(it, m.metrics.end()) << name;
    return it == m.metrics.end() ? -1 : it->second;
  }
  std::set<std::uint64_t> recorded() const { return {pages_.begin(), pages_.end()}; }

  static TempFile* file_;
  std::vector<std::uint64_t> pages_;
};
TempFile* ReplayLoadTest::file_ = nullptr;

TEST_F(ReplayLoadTest, ReadBasedStrategiesReadExactlyTheRecordedPages) {
  for (std::string s : {"read", "pread", "uring:qd=8", "pread:threads=4"}) {
    SCOPED_TRACE(s);
    Measurement m = run(s, {1});
    EXPECT_EQ(m.touched_bytes, kK * kPage);
    EXPECT_EQ(get(m, metric::kReadBytes), double(kK * kPage));
    EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
    // Only the recorded pages of the buffer were written.
    EXPECT_LT(get(m, metric::kRssAnonBytes), double((kK + 64) * kPage));
  }
}

TEST_F(ReplayLoadTest, DirectReadsExactlyTheRecordedPagesPastTheCache) {
  for (std::string s : {"direct", "direct:qd=32"}) {
    SCOPED_TRACE(s);
    Measurement m = run(s, {1});
    EXPECT_EQ(get(m, metric::kReadBytes), double(kK * kPage));
    EXPECT_TRUE(testing::resident_page_set(file_->path()).empty());
  }
}

TEST_F(ReplayLoadTest, RandomAdvisedMappingFaultsOncePerRecordedPage) {
  for (Op op : {Op::kFault, Op::kRead}) {  // a mapping touches read ranges too
    Measurement m = run("mmap:private,advise=random", {1}, op);
    EXPECT_EQ(get(m, metric::kMajorFaults), double(kK));
    EXPECT_EQ(get(m, metric::kReadBytes), double(kK * kPage));
    EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
  }
}

TEST_F(ReplayLoadTest, SeveralThreadsReplayTheirOwnRanges) {
  // Three threads taking turns (the recorded order across them): each page
  // read once, whatever the way of reading (io_uring: several in flight).
  for (std::string s : {"pread", "read", "uring:qd=8", "pread:chunk=4096"})
    for (bool gaps : {false, true}) {
      SCOPED_TRACE(s + (gaps ? " gaps=on" : ""));
      Measurement m = run(s, {11, 12, 13}, Op::kRead, gaps);
      EXPECT_EQ(get(m, metric::kReadBytes), double(kK * kPage));
      EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
    }
  Measurement m = run("direct:qd=32", {11, 12, 13});
  EXPECT_EQ(get(m, metric::kReadBytes), double(kK * kPage));
  EXPECT_TRUE(testing::resident_page_set(file_->path()).empty());
  m = run("mmap:private,advise=random", {11, 12, 13}, Op::kFault);
  EXPECT_EQ(get(m, metric::kMajorFaults), double(kK));
  EXPECT_EQ(testing::resident_page_set(file_->path()), recorded());
}

TEST_F(ReplayLoadTest, TheSameBytesAsTheWholeFileLoad) {
  // The replay's checksum is that of the same ranges touched after a whole load.
  Measurement replay = run("pread", {1});
  std::vector<Range> ranges;
  for (auto p : pages_) ranges.push_back({p * kPage, kPage});
  Mapping whole = load(file_->path(), parse_strategy("read"));
  EXPECT_EQ(replay.checksum, touch(whole.data(), whole.size(), ranges));
  Measurement mapped = run("mmap:shared", {1}, Op::kFault);
  EXPECT_EQ(mapped.checksum, replay.checksum);
}

}  // namespace
}  // namespace faultline
