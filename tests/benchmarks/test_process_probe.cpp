// Process probes: each counter moves by what the kernel must have done for a
// known amount of memory or I/O (physical invariants, no timings).
#include "benchmarks/process_probe.h"

#include "benchmarks/cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace faultline {
namespace {

constexpr std::uint64_t kBytes = std::uint64_t{64} << 20;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kPages = kBytes / kPage;

// 64 MiB of anonymous memory in 4 KiB pages (no THP, so one fault per page).
struct AnonRegion {
  AnonRegion() {
    ptr = static_cast<char*>(
        ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (ptr == MAP_FAILED) ptr = nullptr;
    if (ptr) ::madvise(ptr, kBytes, MADV_NOHUGEPAGE);
  }
  ~AnonRegion() { release(); }
  void touch() {
    for (std::uint64_t off = 0; off < kBytes; off += kPage) ptr[off] = 1;
  }
  void release() {
    if (ptr) ::munmap(ptr, kBytes);
    ptr = nullptr;
  }
  char* ptr = nullptr;
};

class ProcessProbeFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/var/tmp/faultline-test-probe-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0) << "mkstemp in /var/tmp failed";
    path_ = name;
    std::mt19937_64 rng(7);
    std::vector<std::uint64_t> block((std::size_t{1} << 20) / sizeof(std::uint64_t));
    for (std::uint64_t done = 0; done < kBytes; done += std::uint64_t{1} << 20) {
      for (auto& word : block) word = rng();
      ASSERT_EQ(::write(fd, block.data(), std::size_t{1} << 20), ssize_t{1} << 20);
    }
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
    const Residency r = evict(path_);
    ASSERT_LE(r.pct(), 1.0) << "could not make the test file cold";
  }
  void TearDown() override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  std::string path_;
};

TEST(ProcessProbe, SampleReadsEveryFile) {
  const ProcessSample s = sample_process();
  EXPECT_GT(s.rss_bytes, 0u);
  EXPECT_GT(s.rss_file_bytes, 0u);  // the executable's own text
  EXPECT_GT(s.rss_anon_bytes, 0u);
  EXPECT_GE(s.peak_rss_bytes, s.rss_bytes);
  EXPECT_GT(s.minor_faults, 0u);
  EXPECT_GT(s.rchar, 0u);  // reading /proc/self/status counts
  // VmRSS is the sum of its parts (all three read in one snapshot).
  EXPECT_EQ(s.rss_bytes, s.rss_file_bytes + s.rss_anon_bytes + s.rss_shmem_bytes);
}

TEST(ProcessProbe, TouchingAnonMemoryRaisesAnonRssAndMinorFaults) {
  AnonRegion region;
  ASSERT_NE(region.ptr, nullptr);
  const ProcessSample before = sample_process();
  region.touch();
  const ProcessSample after = sample_process();
  EXPECT_GE(after.rss_anon_bytes - before.rss_anon_bytes, 0.95 * kBytes);
  EXPECT_GE(after.minor_faults - before.minor_faults, 0.9 * kPages);
  EXPECT_GE(after.peak_rss_bytes, after.rss_bytes);
}

TEST(ProcessProbe, ResetPeakRssBringsPeakDownAfterFreeing) {
  AnonRegion region;
  ASSERT_NE(region.ptr, nullptr);
  region.touch();
  region.release();
  const ProcessSample freed = sample_process();
  ASSERT_GE(freed.peak_rss_bytes, freed.rss_bytes + 0.95 * kBytes)
      << "VmHWM should remember the 64 MiB just freed";
  ASSERT_TRUE(reset_peak_rss()) << "/proc/self/clear_refs refused \"5\"";
  const ProcessSample reset = sample_process();
  EXPECT_LE(reset.peak_rss_bytes + 0.9 * kBytes, freed.peak_rss_bytes);
  EXPECT_GE(reset.peak_rss_bytes, reset.rss_bytes);
}

TEST_F(ProcessProbeFile, TouchingAColdMappingRaisesFileRssAndMajorFaults) {
  const int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, kBytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  ASSERT_NE(map, MAP_FAILED);
  const ProcessSample before = sample_process();
  std::uint64_t sum = 0;
  const auto* bytes = static_cast<const volatile unsigned char*>(map);
  for (std::uint64_t off = 0; off < kBytes; off += kPage) sum += bytes[off];
  const ProcessSample after = sample_process();
  ::munmap(map, kBytes);
  EXPECT_GE(after.rss_file_bytes - before.rss_file_bytes, 0.95 * kBytes) << sum;
  EXPECT_GT(after.major_faults - before.major_faults, 0u);
  EXPECT_GE(after.read_bytes - before.read_bytes, 0.9 * kBytes);
}

TEST_F(ProcessProbeFile, ColdReadRaisesReadBytes) {
  const int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<char> buf(std::size_t{1} << 20);
  const ProcessSample before = sample_process();
  std::uint64_t total = 0;
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) total += std::uint64_t(n);
  const ProcessSample after = sample_process();
  ::close(fd);
  ASSERT_EQ(total, kBytes);
  EXPECT_GE(after.read_bytes - before.read_bytes, 0.9 * kBytes);
  EXPECT_GE(after.rchar - before.rchar, kBytes);
}

TEST(ProcessProbe, PssIsPositiveAndAtMostRss) {
  const std::uint64_t pss = sample_pss().value_or(0);
  const ProcessSample s = sample_process();
  EXPECT_GT(pss, 0u);
  // Pss divides shared pages among their users, so it never exceeds Rss.
  EXPECT_LE(pss, s.rss_bytes);
}

TEST(ProcessProbe, PssFollowsPrivateAnonMemory) {
  AnonRegion region;
  ASSERT_NE(region.ptr, nullptr);
  const std::uint64_t before = sample_pss().value_or(0);
  region.touch();
  const std::uint64_t after = sample_pss().value_or(0);
  EXPECT_GE(after - before, 0.95 * kBytes);  // private pages count whole
}

}  // namespace
}  // namespace faultline
