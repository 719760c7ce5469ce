// bpf/region_server + benchmarks/region_protocol: the protocol between faultline-bench (untrusted,
// running as the invoking user) and the root harness that holds the tracer. These tests play a
// misbehaving bench on raw pipes; they need no privilege (the server answers even when its tracer
// is unavailable).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "bpf/region_server.h"
#include "tests/support/temp_file.h"

namespace faultline::bpf {
namespace {

// A server on pipes, and the bench's ends of them.
struct Harness {
  int request[2];
  int reply[2];
  testing::TempFile model{1 << 20};
  std::unique_ptr<RegionServer> server;

  Harness() {
    EXPECT_EQ(::pipe2(request, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(reply, O_CLOEXEC), 0);
    server = std::make_unique<RegionServer>(model.path(), "", ::getpid(), request[0], reply[1]);
  }
  ~Harness() {
    server.reset();
    for (int fd : {request[0], request[1], reply[0], reply[1]}) ::close(fd);
  }
  void send(const std::string& text) {
    ASSERT_EQ(::write(request[1], text.data(), text.size()), ssize_t(text.size()));
  }
  std::string receive() {  // "" when nothing comes within 2 s (no hang)
    pollfd p{reply[0], POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "";
    char buf[4096];
    const ssize_t n = ::read(reply[0], buf, sizeof buf);
    return n > 0 ? std::string(buf, std::size_t(n)) : "";
  }
};

TEST(RegionServer, PrepareBeginAndEndComeInOrderWithRepliesAndTheCounters) {
  Harness h;
  h.send("prepare load/read/none/cold\n");
  EXPECT_TRUE(h.server->serve(100));
  EXPECT_EQ(h.receive(), "ok\n");
  h.send("begin load/read/none/cold\n");
  EXPECT_TRUE(h.server->serve(100));
  EXPECT_EQ(h.receive(), "ok\n");
  h.send("end load/read/none/cold\n");
  EXPECT_TRUE(h.server->serve(100));
  const std::string counters = h.receive();
  EXPECT_EQ(counters.front(), '{') << counters;
  EXPECT_EQ(counters.back(), '\n') << counters;
  EXPECT_EQ(h.server->violation(), "");
  // The harness records the counters it sent, not what the bench reports.
  EXPECT_EQ(h.server->last_metrics().empty(), !h.server->ok());
}

TEST(RegionServer, ASecondBeginInsideARegionIsAViolation) {
  Harness h;
  h.send("prepare a\nbegin a\nbegin a\n");
  EXPECT_FALSE(h.server->serve(100));
  EXPECT_NE(h.server->violation().find("inside a region"), std::string::npos)
      << h.server->violation();
  EXPECT_FALSE(h.server->serve(1)) << "a violation is final";
}

TEST(RegionServer, OutOfOrderAndUnknownRequestsAreViolations) {
  // begin without prepare, end without begin, prepare twice, prepare inside
  // a region, anything else.
  for (const char* bad : {"begin a\n", "end a\n", "prepare a\nend a\n", "prepare a\nprepare a\n",
                          "prepare a\nbegin a\nprepare a\n", "hello\n", "\n"}) {
    Harness h;
    h.send(bad);
    EXPECT_FALSE(h.server->serve(100)) << bad;
  }
}

TEST(RegionServer, AnEndlessLineIsAViolationNotUnboundedMemory) {
  Harness h;
  const std::string flood(RegionServer::kMaxLine + 100, 'x');
  h.send(flood);
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i) ok = h.server->serve(50);
  EXPECT_FALSE(ok);
  EXPECT_NE(h.server->violation().find("longer than"), std::string::npos);
}

TEST(RegionServer, TheBenchsProbePreparesBeginsAndEndsInOrder) {
  // remote_region_probe (the bench's end) against the server: the order
  // measure_load() calls them in is the one the server accepts.
  Harness h;
  RegionProbe probe = remote_region_probe(h.request[1], h.reply[0]);
  ASSERT_TRUE(probe.prepare);
  LoadCell cell;
  std::thread server([&] {
    for (int i = 0; i < 50 && h.server->violation().empty(); ++i) h.server->serve(20);
  });
  probe.prepare(cell);
  probe.begin(cell);
  const auto metrics = probe.end(cell);
  server.join();
  EXPECT_EQ(h.server->violation(), "");
  EXPECT_EQ(metrics.empty(), !h.server->ok());
}

TEST(RegionServer, ABenchThatNeverReadsRepliesCannotBlockTheHarness) {
  Harness h;
  // Fill the reply pipe: each begin/end pair is answered, nothing is read.
  bool ok = true;
  for (int i = 0; i < 100000 && ok; ++i) {
    h.send("prepare a\nbegin a\nend a\n");
    ok = h.server->serve(0);
  }
  EXPECT_FALSE(ok) << "the server went on writing into a full pipe";
  EXPECT_NE(h.server->violation().find("does not read"), std::string::npos)
      << h.server->violation();
}

}  // namespace
}  // namespace faultline::bpf
