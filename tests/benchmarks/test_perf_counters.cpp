// PerfCounter: software events must count what getrusage counts; hardware
// events either count or say clearly why not (VMs have no PMU).
#include "benchmarks/perf_counters.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

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
