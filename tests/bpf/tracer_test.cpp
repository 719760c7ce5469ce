// The Tracer against physical invariants (issue 3, "Tests"): counts of a
// child process agree with perf, readahead shows up exactly where the kernel
// rules say, filters keep other processes out, and nothing stays attached.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "benchmarks/perf_counters.h"
#include "bpf/tracer.h"
#include "tests/bpf/bpf_test_support.h"

namespace faultline::testing {
namespace {

using bpf::TraceCounters;
using bpf::TraceFilter;
using bpf::Tracer;

constexpr std::uint64_t kFileBytes = 64ull << 20;

TEST(Tracer, UserFaultsAgreeWithPerfWithin2Percent) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  std::uint64_t perf = 0;
  const auto d = trace_child(
      {},
      [&] {
        // One fault per page: anonymous memory without THP, then a file with
        // MADV_RANDOM (no fault-around).
        const std::size_t anon = 16u << 20;
        auto* p = static_cast<volatile char*>(
            mmap(nullptr, anon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        madvise(const_cast<char*>(p), anon, MADV_NOHUGEPAGE);
        for (std::size_t off = 0; off < anon; off += 4096) p[off] = 1;
        touch_file_pages(file.path(), MADV_RANDOM);
      },
      &perf);
  ASSERT_GT(perf, 8000u) << "perf page-fault counter did not count";
  EXPECT_NEAR(double(d.user_faults), double(perf), 0.02 * double(perf))
      << "bpf " << d.user_faults << " vs perf " << perf;
}

TEST(Tracer, ColdSequentialMmapReadsAheadAndCachesTheFile) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  ASSERT_LT(file.resident_pages(), file.pages() / 100) << "eviction failed";
  const auto d = trace_child({.files = {file.path()}}, [&] { touch_file_pages(file.path(), -1); });
  EXPECT_GT(d.ra_async, 0u);
  EXPECT_GT(d.ra_pages, 0u);
  EXPECT_NEAR(double(d.pagecache_add_pages), double(file.pages()), 0.05 * double(file.pages()));
  EXPECT_GT(d.bio_requests, 0u);
  EXPECT_NEAR(double(d.bio_bytes), double(file.size()), 0.10 * double(file.size()));
  EXPECT_EQ(d.dropped, 0u);
}

TEST(Tracer, MadvRandomFaultsEveryPageWithoutReadahead) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const auto d =
      trace_child({.files = {file.path()}}, [&] { touch_file_pages(file.path(), MADV_RANDOM); });
  EXPECT_EQ(d.ra_sync + d.ra_async + d.ra_order + d.ra_unbounded, 0u);
  EXPECT_EQ(d.ra_pages, 0u);
  EXPECT_GE(double(d.filemap_faults), 0.9 * double(file.pages()));
  EXPECT_EQ(d.ra_unused_pages, 0u) << "every page was faulted, none unused";
}

TEST(Tracer, ReadaheadBeyondWhatIsTouchedCountsAsUnused) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const std::uint64_t quarter = file.pages() / 4;
  // Sequential over the first quarter: readahead runs ahead of the faults.
  const auto part = trace_child({.files = {file.path()}, .track_unused = true},
                                [&] { touch_file_pages(file.path(), -1, quarter); });
  EXPECT_GT(part.ra_unused_pages, 0u);
  EXPECT_LE(part.ra_unused_pages, part.pagecache_add_pages);
  EXPECT_LE(part.pagecache_add_pages - part.ra_unused_pages, quarter + quarter / 4)
      << "used pages should be about the touched quarter";
  // Every page touched: (almost) nothing unused.
  file.evict();
  const auto all = trace_child({.files = {file.path()}, .track_unused = true},
                               [&] { touch_file_pages(file.path(), -1); });
  EXPECT_LE(all.ra_unused_pages, file.pages() / 50) << "of " << all.pagecache_add_pages;
  EXPECT_EQ(all.ra_untracked, 0u);
}

TEST(Tracer, AnotherProcessOnTheSameFileIsFilteredOut) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const std::uint64_t half = file.pages() / 2;
  WorkerChild traced([&] { touch_file_pages(file.path(), MADV_RANDOM, half); });
  WorkerChild other([&] { touch_file_pages(file.path(), MADV_RANDOM); });
  Tracer tracer({.pids = {traced.pid()}, .files = {file.path()}});
  ASSERT_TRUE(tracer.start()) << tracer.error();
  PerfCounter perf("page-faults", traced.pid());
  perf.enable();
  traced.go();
  other.go();
  traced.wait_done();
  other.wait_done();
  const auto d = tracer.snapshot();
  EXPECT_LE(d.filemap_faults, half + 16) << "the other process's faults leaked in";
  EXPECT_GE(double(d.filemap_faults), 0.5 * double(half));
  const double perf_faults = double(perf.read().value_or(0));
  EXPECT_NEAR(double(d.user_faults), perf_faults, 0.02 * perf_faults);
  EXPECT_EQ(traced.finish(), 0);
  EXPECT_EQ(other.finish(), 0);
}

TEST(Tracer, FileFilterIgnoresOtherFiles) {
  SKIP_WITHOUT_BPF();
  ColdFile traced_file(8u << 20), other_file(kFileBytes);
  const auto d = trace_child({.files = {traced_file.path()}},
                             [&] { touch_file_pages(other_file.path(), MADV_RANDOM); });
  EXPECT_EQ(d.filemap_faults, 0u);
  EXPECT_EQ(d.pagecache_add_pages, 0u);
  EXPECT_GT(d.user_faults, other_file.pages() / 2) << "task filter should still count faults";
}

TEST(Tracer, NothingStaysAttachedAfterDestruction) {
  SKIP_WITHOUT_BPF();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  {
    Tracer tracer({.pids = {getpid()}, .timeline = true, .timeline_bytes = 1 << 20});
    ASSERT_TRUE(tracer.start()) << tracer.error();
    EXPECT_FALSE(bpf_prog_ids(progs).empty());
    EXPECT_FALSE(bpf_link_ids(links).empty());
  }
  EXPECT_TRUE(bpf_objects_gone(progs, links));
}

TEST(Tracer, NothingStaysAttachedAfterATracedChildIsKilled) {
  SKIP_WITHOUT_BPF();
  const auto progs = max_bpf_prog_id(), links = max_bpf_link_id();
  {
    WorkerChild child([] { pause(); });
    Tracer tracer({.pids = {child.pid()}});
    ASSERT_TRUE(tracer.start()) << tracer.error();
    child.go();
    kill(child.pid(), SIGKILL);
    EXPECT_NE(child.finish(), 0);
  }
  EXPECT_TRUE(bpf_objects_gone(progs, links));
}

TEST(Tracer, TimelineUnderLoadReportsDropsAndCountsOnlyDropsNothing) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  auto storm = [&] {
    file.evict();
    touch_file_pages(file.path(), MADV_RANDOM);
  };
  // A one-page ring buffer never drained during ~16k faults must overflow.
  WorkerChild child(storm);
  Tracer tracer(
      {.pids = {child.pid()}, .files = {file.path()}, .timeline = true, .timeline_bytes = 4096});
  ASSERT_TRUE(tracer.start()) << tracer.error();
  child.go();
  child.wait_done();
  const auto d = tracer.snapshot();
  EXPECT_GT(d.dropped, 0u);
  EXPECT_GT(d.timeline_events, 0u);
  tracer.poll_timeline();
  const auto events = tracer.take_timeline();
  EXPECT_GE(events.size(), d.timeline_events);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().tgid, std::uint32_t(child.pid()));
  EXPECT_EQ(bpf::to_metrics(d).back().first, "bpf_dropped");
  EXPECT_EQ(child.finish(), 0);

  const auto counts_only = trace_child({.files = {file.path()}}, storm);
  EXPECT_EQ(counts_only.dropped, 0u);
  EXPECT_EQ(counts_only.timeline_events, 0u);
  EXPECT_GE(double(counts_only.filemap_faults), 0.9 * double(file.pages()));
}

TEST(Tracer, UnprivilegedOrUnavailableSaysWhy) {
  if (bpf_skip_reason()) {
    Tracer tracer({});
    EXPECT_FALSE(tracer.ok());
    EXPECT_EQ(tracer.error().rfind("tracing unavailable: ", 0), 0u) << tracer.error();
    EXPECT_FALSE(tracer.start());
    EXPECT_EQ(tracer.snapshot().user_faults, 0u);
  } else {
    Tracer tracer({.files = {"/nonexistent/faultline-model.gguf"}});
    EXPECT_FALSE(tracer.ok());
    EXPECT_NE(tracer.error().find("/nonexistent/faultline-model.gguf"), std::string::npos);
  }
}

}  // namespace
}  // namespace faultline::testing
