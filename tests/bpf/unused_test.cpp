// "Readahead pages never used" (bpf/unused.bpf.h) holds for every way a
// program can use file pages: a full pass of each kind leaves (almost)
// nothing unused, half a file after a full readahead leaves half. Also: the
// page-cache insertions by folio order add up to the file on a large-folio
// workload (the folio order is read right on this kernel).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/smaps.h"
#include "tests/bpf/bpf_test_support.h"

namespace faultline::testing {
namespace {

using bpf::TraceCounters;

constexpr std::uint64_t kFileBytes = 64ull << 20;

TraceCounters trace_unused(const ColdFile& file, std::function<void()> work) {
  return trace_child({.files = {file.path()}, .track_unused = true}, std::move(work));
}

// A full pass: the file came in whole, and at most 1 % of it is unused.
void expect_fully_used(const ColdFile& file, const TraceCounters& d, const char* what) {
  EXPECT_FALSE(d.availability.not_measured.count("bpf_ra_unused_pages"))
      << d.availability.not_measured.at("bpf_ra_unused_pages");
  EXPECT_GE(double(d.pagecache_add_pages), 0.95 * double(file.pages())) << what;
  EXPECT_LE(double(d.ra_unused_pages), 0.01 * double(d.pagecache_add_pages))
      << what << ": " << d.ra_unused_pages << " of " << d.pagecache_add_pages
      << " pages never used";
  EXPECT_EQ(d.ra_untracked, 0u);
}

// Maps the file at a 2 MiB-aligned address (file offset 0 on a PMD boundary).
char* map_aligned(int fd, std::size_t size, int flags) {
  const std::size_t pmd = 2u << 20;
  void* area = mmap(nullptr, size + pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return nullptr;
  auto at = (reinterpret_cast<std::uintptr_t>(area) + pmd - 1) & ~(pmd - 1);
  void* p = mmap(reinterpret_cast<void*>(at), size, PROT_READ, flags | MAP_FIXED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

// kB of FilePmdMapped in this process's smaps for the mapping at `addr`.
std::uint64_t file_pmd_mapped_kb(const void* addr) {
  for (const auto& m : read_smaps())
    if (m.start == reinterpret_cast<std::uintptr_t>(addr)) return m.bytes("FilePmdMapped") / 1024;
  return 0;
}

// What the mapping children report back (shared with the parent).
struct Shared {
  std::uint64_t pmd_kb = 0;
  int error = 0;
};
Shared* shared_page() {
  static Shared* s = static_cast<Shared*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  return s;
}

// Maps the whole file with `flags` (MAP_POPULATE...), runs `use` on it,
// touches nothing else.
void with_mapping(const std::string& path, int flags,
                  const std::function<void(char*, off_t)>& use) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const off_t size = lseek(fd, 0, SEEK_END);
  char* p = static_cast<char*>(mmap(nullptr, size, PROT_READ, flags, fd, 0));
  close(fd);
  if (p == MAP_FAILED) _exit(6);
  if (use) use(p, size);
  munmap(p, size);
}

TEST(Unused, ReadOfTheWholeFileUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  expect_fully_used(file, trace_unused(file, [&] { read_file(file.path(), 1 << 20); }), "read()");
}

TEST(Unused, PreadOfTheWholeFileUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  expect_fully_used(file, trace_unused(file, [&] { read_file(file.path(), 256 << 10, 0, true); }),
                    "pread()");
}

TEST(Unused, MmapPassOverSmallFoliosUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  // Forced readahead (WILLNEED) allocates order-0 folios; the pass then maps
  // them by fault-around.
  const auto d = trace_unused(file, [&] {
    willneed(file.path());
    touch_file_pages(file.path(), -1);
  });
  EXPECT_EQ(d.pagecache_add_order.slots[0], d.pagecache_add_folios) << "not 4 KiB folios";
  EXPECT_GT(d.faultaround_calls, 0u);
  expect_fully_used(file, d, "mmap pass, 4 KiB folios");
}

TEST(Unused, MmapPassOverLargeFoliosUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const auto d = trace_unused(file, [&] { touch_file_pages(file.path(), -1); });
  std::uint64_t large = 0;
  for (int k = 1; k < bpf::kHistSlots; ++k) large += d.pagecache_add_order.slots[k];
  EXPECT_GT(large, 0u) << "no large folios on this file system";
  expect_fully_used(file, d, "mmap pass, large folios");
}

TEST(Unused, PmdMappedFoliosAreUsedWhole) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  Shared* out = shared_page();
  *out = {};
  const auto d = trace_unused(file, [&] {
    const int fd = open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
    char* p = map_aligned(fd, file.size(), MAP_PRIVATE);
    close(fd);
    if (!p) _exit(7);
    madvise(p, file.size(), MADV_HUGEPAGE);
    volatile char sum = 0;
    for (std::uint64_t off = 0; off < file.size(); off += 4096) sum = char(sum + p[off]);
    out->pmd_kb = file_pmd_mapped_kb(p);
  });
  if (out->pmd_kb == 0) GTEST_SKIP() << "no PMD mapping of file pages here (FilePmdMapped 0)";
  EXPECT_GT(d.pagecache_add_order.slots[9], 0u);
  expect_fully_used(file, d, "PMD-mapped pass");
}

TEST(Unused, MapPopulateUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  expect_fully_used(
      file, trace_unused(file, [&] { with_mapping(file.path(), MAP_SHARED | MAP_POPULATE, {}); }),
      "MAP_POPULATE");
}

TEST(Unused, MadvPopulateReadUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const auto d = trace_unused(file, [&] {
    with_mapping(file.path(), MAP_PRIVATE, [](char* p, off_t size) {
      if (madvise(p, size, MADV_POPULATE_READ) != 0) _exit(8);
    });
  });
  expect_fully_used(file, d, "MADV_POPULATE_READ");
}

TEST(Unused, MlockUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const auto d = trace_unused(file, [&] {
    with_mapping(file.path(), MAP_PRIVATE, [](char* p, off_t size) {
      if (mlock(p, size) != 0) _exit(9);
      munlock(p, size);
    });
  });
  expect_fully_used(file, d, "mlock");
}

TEST(Unused, HalfAFileTouchedAfterAFullReadaheadLeavesHalfUnused) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  for (bool by_read : {false, true}) {
    file.evict();
    const auto d = trace_unused(file, [&] {
      willneed(file.path());
      if (by_read)
        read_file(file.path(), 1 << 20, file.size() / 2);
      else
        touch_file_pages(file.path(), -1, file.pages() / 2);
    });
    EXPECT_GE(double(d.pagecache_add_pages), 0.95 * double(file.pages()));
    const double unused = double(d.ra_unused_pages) / double(d.pagecache_add_pages);
    EXPECT_GE(unused, 0.45) << (by_read ? "read()" : "mmap") << ": " << d.ra_unused_pages;
    EXPECT_LE(unused, 0.55) << (by_read ? "read()" : "mmap") << ": " << d.ra_unused_pages;
  }
}

TEST(Unused, WarmReadAfterWarmingUsesEveryPage) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  expect_fully_used(file,
                    trace_unused(file,
                                 [&] {
                                   read_file(file.path(), 4 << 20);  // warming
                                   read_file(file.path(), 1 << 20);  // the warm read
                                 }),
                    "warm read()");
}

TEST(Unused, PageCacheInsertionsByOrderAddUpToTheFile) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  const auto d = trace_child({.files = {file.path()}}, [&] { touch_file_pages(file.path(), -1); });
  std::uint64_t pages = 0, folios = 0, large = 0;
  for (int k = 0; k < bpf::kHistSlots; ++k) {
    pages += d.pagecache_add_order.slots[k] << k;
    folios += d.pagecache_add_order.slots[k];
    if (k) large += d.pagecache_add_order.slots[k];
  }
  EXPECT_GT(large, 0u) << "no large folios: the order is not exercised";
  EXPECT_EQ(folios, d.pagecache_add_folios);
  EXPECT_EQ(pages, d.pagecache_add_pages);
  EXPECT_NEAR(double(pages), double(file.pages()), 0.02 * double(file.pages()))
      << "folio orders read wrong: the pages they add up to are not the file";
}

}  // namespace
}  // namespace faultline::testing
