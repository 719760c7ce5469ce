// PerfCounter: software events must count what getrusage counts; hardware
// events either count or say clearly why not (VMs have no PMU); a counter of
// every thread counts the process's CPU, io_uring's workers included.
#include "benchmarks/perf_counters.h"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace faultline {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kPages = 16384;  // 64 MiB

std::uint64_t rusage_faults() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_minflt + ru.ru_majflt);
}

// Maps fresh anonymous 4 KiB pages (THP off, so one fault each), touches
// every one while `counter` (if any) runs, and returns the getrusage fault
// delta over the touching.
std::uint64_t touch_fresh_pages(PerfCounter* counter) {
  const std::size_t bytes = kPages * kPage;
  auto* p = static_cast<char*>(
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) return 0;
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  if (counter) counter->reset();
  const std::uint64_t before = rusage_faults();
  if (counter) counter->enable();
  for (std::size_t off = 0; off < bytes; off += kPage) p[off] = 1;
  if (counter) counter->disable();
  const std::uint64_t after = rusage_faults();
  ::munmap(p, bytes);
  return after - before;
}

// Burns some CPU so that clocks and cycle counters move.
std::uint64_t spin() {
  volatile std::uint64_t x = 0;
  for (int i = 0; i < 2'000'000; ++i) x = x + std::uint64_t(i);
  return x;
}

TEST(PerfCounter, PageFaultsCountEveryFreshPage) {
  PerfCounter counter("page-faults");
  ASSERT_TRUE(counter.supported()) << counter.error();
  EXPECT_TRUE(counter.error().empty());
  const std::uint64_t by_rusage = touch_fresh_pages(&counter);
  const std::optional<std::uint64_t> by_perf = counter.read();
  ASSERT_TRUE(by_perf.has_value());
  EXPECT_GE(*by_perf, 0.9 * kPages);
  EXPECT_NEAR(double(*by_perf), double(by_rusage), 0.02 * double(by_rusage));
}

TEST(PerfCounter, MinorFaultsCountEveryFreshPage) {
  PerfCounter counter("minor-faults");
  ASSERT_TRUE(counter.supported()) << counter.error();
  const std::uint64_t by_rusage = touch_fresh_pages(&counter);
  const std::uint64_t by_perf = counter.read().value_or(0);
  EXPECT_GE(by_perf, 0.9 * kPages);
  EXPECT_NEAR(double(by_perf), double(by_rusage), 0.02 * double(by_rusage));
}

TEST(PerfCounter, MajorFaultsStayZeroForAnonMemory) {
  PerfCounter counter("major-faults");
  ASSERT_TRUE(counter.supported()) << counter.error();
  touch_fresh_pages(&counter);
  EXPECT_EQ(counter.read().value_or(1), 0u);  // zero-filled pages never need I/O
}

TEST(PerfCounter, LibpfmNamesWorkDirectly) {
  PerfCounter counter("perf::PERF_COUNT_SW_PAGE_FAULTS");
  ASSERT_TRUE(counter.supported()) << counter.error();
  EXPECT_GE(touch_fresh_pages(&counter), 0.9 * kPages);
  EXPECT_GE(counter.read().value_or(0), 0.9 * kPages);
}

TEST(PerfCounter, DisabledCounterDoesNotCount) {
  PerfCounter counter("page-faults");
  ASSERT_TRUE(counter.supported()) << counter.error();
  touch_fresh_pages(&counter);
  const std::optional<std::uint64_t> stopped = counter.read();
  EXPECT_GE(touch_fresh_pages(nullptr), 0.9 * kPages);  // faults while disabled
  EXPECT_EQ(counter.read(), stopped);
  counter.reset();
  EXPECT_EQ(counter.read(), std::optional<std::uint64_t>(0));
}

TEST(PerfCounter, TaskClockMovesWhileRunning) {
  PerfCounter counter("task-clock");
  ASSERT_TRUE(counter.supported()) << counter.error();
  counter.reset();
  counter.enable();
  spin();
  counter.disable();
  EXPECT_GT(counter.read().value_or(0), 0u);  // nanoseconds on the CPU
}

TEST(PerfCounter, HardwareEventsCountOrSayWhyNot) {
  for (const char* event : {"cycles", "instructions"}) {
    SCOPED_TRACE(event);
    PerfCounter counter(event);
    if (counter.supported()) {
      counter.reset();
      counter.enable();
      spin();
      counter.disable();
      EXPECT_GT(counter.read().value_or(0), 0u);
    } else {
      // A VM without a PMU: a normal answer that names the event.
      EXPECT_FALSE(counter.error().empty());
      EXPECT_EQ(counter.error().rfind(event, 0), 0u) << counter.error();
      EXPECT_FALSE(counter.read().has_value());
      std::cout << "[ note ] " << counter.error() << '\n';
    }
  }
}

TEST(PerfCounter, UnknownEventIsUnsupportedNotAnException) {
  PerfCounter counter("no-such-event-xyz");
  EXPECT_FALSE(counter.supported());
  EXPECT_NE(counter.error().find("no-such-event-xyz"), std::string::npos) << counter.error();
  EXPECT_NE(counter.error().find("libpfm4"), std::string::npos) << counter.error();
  counter.reset();  // harmless no-ops
  counter.enable();
  counter.disable();
  EXPECT_FALSE(counter.read().has_value());
}

TEST(PerfCounter, MoveTransfersTheDescriptor) {
  PerfCounter a("page-faults");
  ASSERT_TRUE(a.supported()) << a.error();
  PerfCounter b(std::move(a));
  EXPECT_TRUE(b.supported());
  EXPECT_EQ(b.event(), "page-faults");
  EXPECT_FALSE(a.supported());  // NOLINT(bugprone-use-after-move): moved-from is empty
  PerfCounter c("task-clock");
  c = std::move(b);
  EXPECT_TRUE(c.supported());
  EXPECT_EQ(c.event(), "page-faults");
  EXPECT_GE(touch_fresh_pages(&c), 0.9 * kPages);
  EXPECT_GE(c.read().value_or(0), 0.9 * kPages);
}

// CPU clocks in ms.
double cpu_ms(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// Each thread spins a few ms of CPU; the calling thread only waits.
void spin_in_threads(int n) {
  std::vector<std::thread> pool;
  for (int i = 0; i < n; ++i)
    pool.emplace_back([] {
      for (int k = 0; k < 10; ++k) spin();
    });
  for (auto& t : pool) t.join();
}

// A thread-only counter misses what other threads do; every_thread() counts
// them all, threads started later and threads that existed before.
TEST(PerfCounter, EveryThreadCountsThreadsStartedLaterAndBefore) {
  // A thread that exists before the counter and spins when told.
  std::atomic<int> phase{0};
  std::thread old([&] {
    while (phase.load() == 0) std::this_thread::yield();
    for (int k = 0; k < 10; ++k) spin();
    phase = 2;
  });
  PerfCounter mine("task-clock");
  PerfCounter all = PerfCounter::every_thread("task-clock");
  ASSERT_TRUE(all.supported()) << all.error();
  EXPECT_TRUE(all.inherited());
  for (PerfCounter* c : {&mine, &all}) {
    c->reset();
    c->enable();
  }
  const double process_before = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
  spin_in_threads(3);
  phase = 1;
  while (phase.load() != 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double process_ms = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - process_before;
  for (PerfCounter* c : {&mine, &all}) c->disable();
  old.join();
  const double mine_ms = double(mine.read().value_or(0)) / 1e6;
  const double all_ms = double(all.read().value_or(0)) / 1e6;
  std::cout << "[ note ] this thread " << mine_ms << " ms, every thread " << all_ms
            << " ms, process CPU " << process_ms << " ms\n";
  EXPECT_NEAR(all_ms, process_ms, 0.2 * process_ms + 2.0);
  EXPECT_GT(all_ms, 5 * mine_ms) << "the spinning threads are counted";
  // reset() starts again from 0, also for the threads that exited.
  all.reset();
  EXPECT_LT(double(all.read().value_or(1e12)) / 1e6, 1.0);
}

// io_uring hands requests marked IOSQE_ASYNC to its iou-wrk worker threads,
// which the kernel creates in this process: every_thread() counts them.
TEST(PerfCounter, EveryThreadCountsIoUringWorkers) {
  constexpr std::size_t kBytes = std::size_t{64} << 20, kChunk = std::size_t{1} << 20;
  char name[] = "/var/tmp/faultline-test-uring-XXXXXX";
  const int fd = ::mkstemp(name);
  ASSERT_GE(fd, 0);
  ::unlink(name);
  std::vector<char> buf(kBytes, 'x');
  ASSERT_EQ(::write(fd, buf.data(), kBytes), ssize_t(kBytes));  // cached: the workers copy
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
  PerfCounter all = PerfCounter::every_thread("task-clock");
  ASSERT_TRUE(all.supported()) << all.error();
  all.reset();
  all.enable();
  const double process_before = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
  const double thread_before = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
  for (int round = 0; round < 8; ++round) {
    for (std::size_t off = 0; off < kBytes; off += kChunk * 8) {
      for (std::size_t i = 0; i < 8; ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, buf.data() + off + i * kChunk, kChunk, off + i * kChunk);
        sqe->flags |= IOSQE_ASYNC;
      }
      ASSERT_GE(io_uring_submit_and_wait(&ring, 8), 0);
      io_uring_cqe* cqe;
      for (int i = 0; i < 8; ++i) {
        ASSERT_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
        EXPECT_EQ(cqe->res, int(kChunk));
        io_uring_cqe_seen(&ring, cqe);
      }
    }
  }
  const double thread_ms = cpu_ms(CLOCK_THREAD_CPUTIME_ID) - thread_before;
  const double process_ms = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - process_before;
  all.disable();
  io_uring_queue_exit(&ring);
  ::close(fd);
  const double all_ms = double(all.read().value_or(0)) / 1e6;
  std::cout << "[ note ] io_uring: every thread " << all_ms << " ms, process CPU " << process_ms
            << " ms, calling thread " << thread_ms << " ms\n";
  ASSERT_GT(process_ms, 2 * thread_ms) << "the copies did not run in iou-wrk workers";
  EXPECT_NEAR(all_ms, process_ms, 0.2 * process_ms + 2.0);
}

TEST(PerfCounterSet, ReadsEveryEventInOrder) {
  PerfCounterSet set({"page-faults", "task-clock", "cycles", "no-such-event-xyz"});
  ASSERT_EQ(set.counters().size(), 4u);
  set.start();
  spin();
  set.stop();
  const auto values = set.read();
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[0].first, "page-faults");
  EXPECT_TRUE(values[0].second.has_value());
  EXPECT_EQ(values[1].first, "task-clock");
  EXPECT_GT(values[1].second.value_or(0), 0u);
  EXPECT_EQ(values[2].first, "cycles");
  EXPECT_EQ(values[2].second.has_value(), set.counters()[2].supported());
  EXPECT_EQ(values[3].first, "no-such-event-xyz");
  EXPECT_FALSE(values[3].second.has_value());
}

}  // namespace
}  // namespace faultline
