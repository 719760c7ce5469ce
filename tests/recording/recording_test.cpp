// The recording format: what is written reads back the same, and every
// malformed file is refused with "FILE:LINE: what".
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "recording/recording.h"

namespace faultline::recording {
namespace {

class RecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/faultline-recording-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/r.replay";
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void write_text(const std::string& text) { std::ofstream(path_) << text; }

  // The reader's message for a file made of `lines`.
  std::string error_of(const std::string& text) {
    write_text(text);
    try {
      read_recording(path_);
    } catch (const RecordingError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::string dir_, path_;
};

const std::string kHeader =
    R"({"format":"faultline-recording","version":1,"file":{"path":"/m.gguf","bytes":1048576,"dev":2049,"ino":12},"command":["prog","m.gguf"],"recorded_at":"2026-12-02T03:40:00Z","threads":2,"complete":{"reads":true,"faults":"sampled","populate":true,"readahead":true,"dropped_events":0,"note":"n"}})";

Recording sample() {
  Recording r;
  r.header.path = "/abs/m.gguf";
  r.header.file_bytes = 268435456;
  r.header.dev = 2049;
  r.header.ino = 1234;
  r.header.command = {"node", "load.mjs", "m.gguf"};
  r.header.recorded_at = "2026-12-02T03:40:00Z";
  r.header.threads = 2;
  r.header.complete = {true, "sampled", true, true, 3, "faults are a coarse sample"};
  Event open{0, 4242, Op::kSyscall, 0, 0, "openat", 5, {{"flags", "O_RDONLY|O_CLOEXEC"}}};
  r.events = {
      open,
      {1200, 4242, Op::kRead, 0, 4096, "pread64", 0, nullptr, 1, 350},  // open 1, 350 ns
      {2000, 4242, Op::kPopulate, 0, 268435456, "mmap", 0, nullptr},
      {2100, 4242, Op::kReadahead, 0, 8388608, "sync", 0, nullptr},
      {2500, 4243, Op::kFault, 65536, 4096, "", 0, nullptr},
      {2501, 4243, Op::kFaultAround, 65536, 65536, "", 0, nullptr},
      {2600, 4243, Op::kRead, 8192, 0, "read", 0, nullptr},  // EOF: no range
  };
  return r;
}

TEST_F(RecordingTest, RoundTrip) {
  Recording r = sample();
  write_recording(path_, r);
  Recording back = read_recording(path_);
  EXPECT_TRUE(back.warnings.empty());
  EXPECT_EQ(back.header.version, 1);
  EXPECT_EQ(back.header.path, r.header.path);
  EXPECT_EQ(back.header.file_bytes, r.header.file_bytes);
  EXPECT_EQ(back.header.dev, 2049u);
  EXPECT_EQ(back.header.ino, 1234u);
  EXPECT_EQ(back.header.command, r.header.command);
  EXPECT_EQ(back.header.recorded_at, r.header.recorded_at);
  EXPECT_EQ(back.header.threads, 2);
  EXPECT_EQ(back.header.complete.faults, "sampled");
  EXPECT_EQ(back.header.complete.dropped_events, 3u);
  EXPECT_EQ(back.header.complete.note, r.header.complete.note);
  ASSERT_EQ(back.events.size(), r.events.size());
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const Event &a = r.events[i], &b = back.events[i];
    EXPECT_EQ(a.t_ns, b.t_ns);
    EXPECT_EQ(a.tid, b.tid);
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.offset, b.offset);
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(a.detail, b.detail);
    EXPECT_EQ(a.ret, b.ret);
    EXPECT_EQ(a.args, b.args);
    EXPECT_EQ(a.file, b.file);
    EXPECT_EQ(a.dur_ns, b.dur_ns);
  }
  // The text is stable: writing what was read gives the same bytes.
  std::ifstream f1(path_);
  std::string first((std::istreambuf_iterator<char>(f1)), {});
  write_recording(path_, back);
  std::ifstream f2(path_);
  EXPECT_EQ(first, std::string((std::istreambuf_iterator<char>(f2)), {}));
  EXPECT_EQ(first.substr(0, 44), R"({"format":"faultline-recording","version":1,)");
}

TEST_F(RecordingTest, AccessSequenceIsReadsFaultsPopulateInOrder) {
  auto seq = access_sequence(sample());
  ASSERT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[0].offset, 0u);
  EXPECT_EQ(seq[0].bytes, 4096u);
  EXPECT_EQ(seq[0].file, 1u);
  EXPECT_EQ(seq[0].dur_ns, 350u);
  EXPECT_EQ(seq[1].bytes, 268435456u);
  EXPECT_EQ(seq[1].dur_ns, 0u);  // only reads have a duration
  EXPECT_EQ(seq[2].offset, 65536u);
  EXPECT_EQ(seq[2].tid, 4243u);
  EXPECT_EQ(seq[2].t_ns, 2500u);
}

TEST_F(RecordingTest, MinimalHandWrittenFileReads) {
  write_text(
      R"({"format":"faultline-recording","version":1,"file":{"path":"m","bytes":8192},"threads":1,"complete":{"reads":true,"faults":"none","populate":false,"readahead":false,"dropped_events":0}})"
      "\n"
      R"({"t_ns":0,"tid":1,"op":"read","offset":4096,"bytes":4096})"
      "\n");
  Recording r = read_recording(path_);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].offset, 4096u);
}

TEST_F(RecordingTest, NewerVersionIsRefused) {
  std::string h = kHeader;
  h.replace(h.find("\"version\":1"), 11, "\"version\":2");
  EXPECT_EQ(error_of(h + "\n"), path_ + ":1: recording version 2, this faultline reads 1");
}

TEST_F(RecordingTest, EachErrorNamesFileAndLine) {
  const std::string ev = R"({"t_ns":5,"tid":1,"op":"read","offset":0,"bytes":4096})";
  struct Case {
    std::string text, expect;
  } cases[] = {
      {"", ":1: empty file"},
      {"{not json\n", ":1: not JSON"},
      {R"({"format":"other","version":1})"
       "\n",
       ":1: not a faultline recording"},
      {kHeader + "\n" + ev + "\n[1,2\n", ":3: not JSON"},
      {kHeader + "\n\n", ":2: empty line"},
      {kHeader + "\n" + R"({"tid":1,"op":"read","offset":0,"bytes":1})" + "\n",
       ":2: the event has no \"t_ns\""},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"read","bytes":1})" + "\n",
       ":2: the event has no \"offset\""},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"read","offset":"0","bytes":1})" + "\n",
       ":2: \"offset\" must be a non-negative integer"},
      {kHeader + "\n" + R"({"t_ns":-1,"tid":1,"op":"read","offset":0,"bytes":1})" + "\n",
       ":2: \"t_ns\" must be a non-negative integer"},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"read","offset":0.5,"bytes":1})" + "\n",
       ":2: \"offset\" must be a non-negative integer"},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":7,"offset":0,"bytes":1})" + "\n",
       ":2: \"op\" must be a string"},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"syscall","ret":0})" + "\n",
       ":2: a syscall event has no \"name\""},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"syscall","name":"mmap","ret":0,"args":[]})" +
           "\n",
       ":2: \"args\" must be an object"},
      {kHeader + "\n" + R"({"t_ns":1,"tid":1,"op":"readahead","offset":0,"bytes":1,"kind":"x"})" +
           "\n",
       ":2: \"kind\" must be"},
      {kHeader + "\n" + R"({"t_ns":1,"tid":4294967296,"op":"fault","offset":0,"bytes":1})" + "\n",
       ":2: \"tid\" is out of range"},
      {kHeader + "\n" +
           R"({"t_ns":1,"tid":1,"op":"fault","offset":18446744073709551615,"bytes":2})" + "\n",
       ":2: offset + bytes overflows"},
      {kHeader + "\n" +
           R"({"t_ns":2,"tid":1,"op":"read","offset":0,"bytes":1,"dur_ns":18446744073709551615})" +
           "\n",
       ":2: t_ns + dur_ns overflows"},
      {kHeader + "\n" + ev + "\n" + R"({"t_ns":4,"tid":1,"op":"fault","offset":0,"bytes":1})" +
           "\n",
       ":3: events out of time order: t_ns 4 after 5"},
  };
  for (const auto& c : cases) {
    std::string got = error_of(c.text);
    EXPECT_EQ(got.rfind(path_ + c.expect, 0), 0u) << "expected " << c.expect << "\ngot " << got;
  }
}

TEST_F(RecordingTest, HeaderErrors) {
  auto without = [](std::string key) {
    std::string h = kHeader;
    auto at = h.find("\"" + key + "\":");
    auto end = h.find(',', at);
    h.erase(at, end - at + 1);
    return h + "\n";
  };
  EXPECT_NE(error_of(without("threads")).find(":1: the header has no \"threads\""),
            std::string::npos);
  EXPECT_NE(error_of(without("bytes")).find(":1: \"file\" has no \"bytes\""), std::string::npos);
  EXPECT_NE(error_of(without("faults")).find(":1: \"complete\" has no \"faults\""),
            std::string::npos);
  std::string h = kHeader;
  h.replace(h.find("\"sampled\""), 9, "\"some\"");
  EXPECT_NE(error_of(h + "\n").find(":1: \"faults\" must be"), std::string::npos);
  h = kHeader;
  h.replace(h.find("\"reads\":true"), 12, "\"reads\":\"yes\"");
  EXPECT_NE(error_of(h + "\n").find(":1: \"reads\" must be true or false"), std::string::npos);
  h = kHeader;
  h.replace(h.find("\"threads\":2"), 11, "\"threads\":0");
  EXPECT_NE(error_of(h + "\n").find(":1: \"threads\" must be >= 1"), std::string::npos);
  EXPECT_NE(error_of("").find("empty file"), std::string::npos);
  EXPECT_EQ(error_of("x").rfind(path_ + ":1: not JSON: ", 0), 0u);
}

TEST_F(RecordingTest, UnknownOpsAndKeysAreSkippedWithAWarning) {
  write_text(kHeader + "\n" + R"({"t_ns":0,"tid":1,"op":"teleport","offset":0})" + "\n" +
             R"({"t_ns":1,"tid":1,"op":"fault","offset":0,"bytes":4096,"color":"red"})" + "\n");
  Recording r = read_recording(path_);
  ASSERT_EQ(r.events.size(), 1u);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], path_ + ":2: unknown op \"teleport\" skipped");
  EXPECT_EQ(r.warnings[1], path_ + ":3: unknown key \"color\" in a fault event skipped");
}

TEST_F(RecordingTest, MissingFileIsAnError) {
  EXPECT_THROW(read_recording(dir_ + "/absent"), RecordingError);
}

TEST_F(RecordingTest, WriterIsAllOrNothing) {
  write_text("old contents\n");
  Recording r = sample();
  std::swap(r.events[1], r.events[2]);  // out of time order
  EXPECT_THROW(write_recording(path_, r), RecordingError);
  std::ifstream f(path_);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(f)), {}), "old contents\n");
  // No temporary file is left beside it.
  EXPECT_EQ(std::system(("test $(ls " + dir_ + " | wc -l) -eq 1").c_str()), 0);
  // A directory that cannot be written: an error naming the path, nothing left.
  EXPECT_THROW(write_recording(dir_ + "/no/such/dir/r.replay", sample()), RecordingError);
}

}  // namespace
}  // namespace faultline::recording
