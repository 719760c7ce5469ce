// StreamOrder: which ranges of the other streams a range waits for (those
// that ended, in the recording, before it started; overlapping ones do not),
// the order a replay's threads then keep, and abort() waking a waiter.
#include "benchmarks/stream_order.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace faultline {
namespace {

// A stream of 4 KiB ranges recorded at `t` (ns), each taking `dur`.
RangeStream timed(std::vector<std::uint64_t> t, std::vector<std::uint64_t> dur = {}) {
  RangeStream s;
  for (std::size_t i = 0; i < t.size(); ++i) s.ranges.push_back({i * 4096, 4096});
  s.t_ns = std::move(t);
  s.dur_ns = std::move(dur);
  return s;
}

TEST(StreamOrder, ARangeWaitsForWhatEndedBeforeItStarted) {
  // A reads at 0-10 and 20-30; B at 15-17 and 40-41.
  StreamOrder o({timed({0, 20}, {10, 10}), timed({15, 40}, {2, 1})});
  ASSERT_TRUE(o.active());
  EXPECT_EQ(o.needed(0, 0, 1), 0u);
  EXPECT_EQ(o.needed(0, 1, 1), 1u);  // B's first ended at 17 < 20
  EXPECT_EQ(o.needed(1, 0, 0), 1u);  // A's first ended at 10 < 15
  EXPECT_EQ(o.needed(1, 1, 0), 2u);
  EXPECT_EQ(o.needed(0, 1, 0), 0u);  // a stream never waits for itself
  EXPECT_TRUE(o.may_start(0, 0));
  EXPECT_FALSE(o.may_start(1, 0));
  o.done(0, 1);
  EXPECT_TRUE(o.may_start(1, 0));
  EXPECT_FALSE(o.may_start(0, 1));
}

TEST(StreamOrder, ReadsThatOverlappedMayOverlap) {
  // A's read ran 0-100; B's started at 50, while it was in flight.
  StreamOrder o({timed({0}, {100}), timed({50}, {100})});
  EXPECT_EQ(o.needed(1, 0, 0), 0u);
  EXPECT_TRUE(o.may_start(1, 0));
  // Without durations a range ends where it starts: B waits for A.
  StreamOrder no_dur({timed({0}), timed({50})});
  EXPECT_EQ(no_dur.needed(1, 0, 0), 1u);
}

TEST(StreamOrder, FewerThanTwoTimedStreamsAreNotOrdered) {
  RangeStream untimed = timed({0, 10});
  untimed.t_ns.clear();
  EXPECT_FALSE(StreamOrder({timed({0, 10})}).active());
  StreamOrder o({timed({0, 10}), untimed});
  EXPECT_FALSE(o.active());
  EXPECT_TRUE(o.may_start(1, 0));
  o.wait(1, 0);  // returns at once
}

TEST(StreamOrder, ThreadsTakeTheRecordedTurns) {
  // Recorded: A0 B0 A1 B1 (one after another). A's first range is slow, so
  // B would go first on its own; with the order the log is the recording's.
  std::vector<RangeStream> streams = {timed({0, 20}, {5, 5}), timed({10, 30}, {5, 5})};
  StreamOrder o(streams);
  std::mutex mu;
  std::string log;
  run_streams(2, [&](std::size_t s) {
    for (std::size_t i = 0; i < 2; ++i) {
      o.done(s, i);
      o.wait(s, i);
      if (s == 0 && i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard lock(mu);
      log += std::string(1, char('A' + s)) + std::to_string(i) + " ";
    }
    o.done(s, 2);
  });
  EXPECT_EQ(log, "A0 B0 A1 B1 ");
}

TEST(StreamOrder, AbortWakesAWaiter) {
  StreamOrder o({timed({0}), timed({10})});
  std::atomic<bool> waiting{false}, woken{false};
  std::thread t([&] {
    waiting = true;
    EXPECT_THROW(o.wait(1, 0), StreamOrder::Aborted);
    woken = true;
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(woken) << "B waits for A's range";
  o.abort();
  t.join();
  EXPECT_TRUE(woken);
  EXPECT_FALSE(o.may_start(1, 0));
  EXPECT_THROW(o.wait(0, 0), StreamOrder::Aborted);
}

TEST(StreamOrder, AHugeDurationDoesNotWrapAround) {
  // t_ns + dur_ns past 2^64 ends at the end of time, never before its start.
  StreamOrder o({timed({10}, {UINT64_MAX}), timed({20})});
  EXPECT_EQ(o.needed(1, 0, 0), 0u);
  EXPECT_EQ(o.needed(0, 0, 1), 0u);
}

}  // namespace
}  // namespace faultline
