#include "harness/doctor_workloads.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "benchmarks/process_probe.h"
#include "benchmarks/touch_timer.h"
#include "common/smaps.h"

namespace faultline::harness::doctor {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

ScratchFile::ScratchFile(const std::string& dir, std::uint64_t bytes) : bytes_(bytes) {
  std::string name = dir + "/.faultline-doctor-XXXXXX";
  fd_.reset(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd_) fail(fmt::format("cannot create a scratch file in {}", dir));
  ::unlink(name.c_str());  // nothing can leave it behind now
  path_ = fmt::format("/proc/self/fd/{}", fd_.get());
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> block(1 << 17);  // 1 MiB
  for (std::uint64_t done = 0; done < bytes;) {
    for (auto& w : block) w = rng();
    const std::size_t n = std::size_t(std::min<std::uint64_t>(bytes - done, block.size() * 8));
    const ssize_t w = ::write(fd_.get(), block.data(), n);
    if (w != ssize_t(n)) fail(fmt::format("cannot write the scratch file in {}", dir));
    done += n;
  }
  if (::fdatasync(fd_.get()) != 0) fail(fmt::format("fdatasync of the scratch file in {}", dir));
}

std::string ScratchFile::filesystem() const {
  struct statfs fs {};
  if (::fstatfs(fd_.get(), &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794c7630:
      return "overlayfs";
    case 0x6969:
      return "nfs";
    default:
      return fmt::format("0x{:x}", static_cast<unsigned long>(fs.f_type));
  }
}

void evict(const ScratchFile& f) {
  // Pages still under read I/O (an async readahead in flight) are locked and
  // DONTNEED skips them: give the I/O up to a second to finish.
  Residency r = faultline::evict(f.path());
  for (int i = 0; i < 100 && r.resident_pages > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    r = faultline::evict(f.path());
  }
  if (r.pct() > 1.0)
    throw std::runtime_error(
        fmt::format("the scratch file stayed {:.1f}% resident after eviction", r.pct()));
}

void warm(const ScratchFile& f) {
  const Residency r = faultline::warm(f.path());
  if (r.pct() < 100.0)
    throw std::runtime_error(
        fmt::format("the scratch file is only {:.1f}% resident after reading it", r.pct()));
}

std::uint64_t resident_pages_cachestat(const ScratchFile& f) {
  return residency(f.path(), ResidencyMethod::cachestat).resident_pages;
}

std::uint64_t resident_pages_mincore(const ScratchFile& f) {
  return residency(f.path(), ResidencyMethod::mincore).resident_pages;
}

void read_all(const ScratchFile& f) {
  constexpr std::size_t kChunk = 1 << 20;
  auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(f.fd(), buf.get(), kChunk, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read of the scratch file");
    if (n == 0) break;
    off += n;
  }
}

void Touch::unmap() {
  if (base) ::munmap(const_cast<std::uint8_t*>(base), bytes);
  base = nullptr;
}

void touch(const ScratchFile& f, int advice, std::uint64_t pages, Touch& out) {
  out.unmap();
  void* p = ::mmap(nullptr, f.bytes(), PROT_READ, MAP_PRIVATE, f.fd(), 0);
  if (p == MAP_FAILED) fail("mmap of the scratch file");
  out.base = static_cast<const std::uint8_t*>(p);
  out.bytes = f.bytes();
  if (advice >= 0 && ::madvise(p, f.bytes(), advice) != 0) fail("madvise of the scratch file");
  TouchTimer timer(f.bytes());
  (void)timer.touch(out.base, f.bytes(), {{0, std::min(pages, f.pages()) * 4096}});
  out.latency_ns = timer.latency_ns();
}

void touch_anonymous(std::uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap of anonymous memory");
  (void)::madvise(p, bytes, MADV_NOHUGEPAGE);
  auto* bytes_p = static_cast<volatile std::uint8_t*>(p);
  for (std::uint64_t off = 0; off < bytes; off += 4096) bytes_p[off] = 1;
  ::munmap(p, bytes);
}

void willneed_and_wait(const ScratchFile& f, std::uint64_t window_pages) {
  const off_t step = off_t(std::max<std::uint64_t>(window_pages, 32) * 4096);
  for (off_t off = 0; off < off_t(f.bytes()); off += step)
    if (const int err = ::posix_fadvise(f.fd(), off, step, POSIX_FADV_WILLNEED); err != 0) {
      errno = err;
      fail("posix_fadvise(WILLNEED) of the scratch file");
    }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (residency(f.path()).resident_pages < f.pages()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("WILLNEED did not bring the scratch file in within 5 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void dontneed(const ScratchFile& f) {
  (void)::posix_fadvise(f.fd(), 0, 0, POSIX_FADV_DONTNEED);
}

ProcessCounters process_counters(const ScratchFile* scratch) {
  // Pss first, the counters last: reading smaps faults in code and buffers
  // of its own (192 KiB of code pages under ASan), which must be in before
  // this sample, not between it and the next one (where RssFile and the
  // faults would count them as the workload's).
  std::uint64_t pss_scratch = 0;
  if (scratch)
    if (const auto file = file_key(scratch->path()))
      pss_scratch = file_field_bytes(read_smaps(), *file, "Pss");
  const auto pss = sample_pss_bytes();
  const ProcessSample s = sample_process();
  ProcessCounters c{s.minor_faults, s.major_faults, s.read_bytes, s.rss_file_bytes, pss};
  c.pss_scratch = pss_scratch;
  return c;
}

}  // namespace faultline::harness::doctor
