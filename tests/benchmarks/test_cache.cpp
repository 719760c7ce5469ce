// Cache control: eviction, warming and the two residency methods, checked as
// physical invariants on a 64 MiB file of random bytes.
#include "benchmarks/cache.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

namespace faultline {
namespace {

constexpr std::uint64_t kFileBytes = std::uint64_t{64} << 20;

// A file of random bytes in /var/tmp (a real disk, unlike a tmpfs /tmp),
// written and fsynced so that no dirty page pins it in the cache; removed
// with the fixture.
class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/var/tmp/faultline-test-cache-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0) << "mkstemp in /var/tmp failed";
    path_ = name;
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> block((std::size_t{1} << 20) / sizeof(std::uint64_t));
    for (std::uint64_t done = 0; done < kFileBytes; done += std::uint64_t{1} << 20) {
      for (auto& word : block) word = rng();
      ASSERT_EQ(::write(fd, block.data(), std::size_t{1} << 20), ssize_t{1} << 20);
    }
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }
  void TearDown() override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  std::string path_;
};

TEST_F(CacheTest, EvictLeavesAtMostOnePercent) {
  warm(path_);
  const Residency r = evict(path_);
  EXPECT_EQ(r.file_pages, kFileBytes / 4096);
  EXPECT_LE(r.pct(), 1.0) << r.resident_pages << " of " << r.file_pages << " pages by " << r.method;
}

TEST_F(CacheTest, WarmMakesAtLeast99PercentResident) {
  evict(path_);
  const Residency r = warm(path_);
  EXPECT_EQ(r.file_pages, kFileBytes / 4096);
  EXPECT_GE(r.pct(), 99.0) << r.resident_pages << " of " << r.file_pages << " pages by "
                           << r.method;
}

TEST_F(CacheTest, AutomaticUsesCachestatWhereTheKernelHasIt) {
  const Residency r = residency(path_);
  EXPECT_STREQ(r.method, cachestat_available() ? "cachestat" : "mincore");
}

TEST_F(CacheTest, CachestatAndMincoreAgree) {
  if (!cachestat_available()) GTEST_SKIP() << "this kernel has no cachestat(2) (Linux < 6.5)";
  for (const bool warmed : {false, true}) {
    SCOPED_TRACE(warmed ? "warm" : "cold");
    if (warmed)
      warm(path_);
    else
      evict(path_);
    const Residency by_cachestat = residency(path_, ResidencyMethod::cachestat);
    const Residency by_mincore = residency(path_, ResidencyMethod::mincore);
    EXPECT_STREQ(by_cachestat.method, "cachestat");
    EXPECT_STREQ(by_mincore.method, "mincore");
    EXPECT_EQ(by_cachestat.file_pages, by_mincore.file_pages);
    // Nothing else touches the file, so both see the same pages; allow a
    // handful for readahead completing between the two calls.
    EXPECT_NEAR(double(by_cachestat.resident_pages), double(by_mincore.resident_pages), 16.0);
  }
}

TEST_F(CacheTest, MincoreSeesAPartlyCachedFile) {
  evict(path_);
  // Read the first quarter only, without readahead beyond it.
  const int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
  std::vector<char> buf(std::size_t{1} << 20);
  for (std::uint64_t done = 0; done < kFileBytes / 4; done += buf.size())
    ASSERT_EQ(::read(fd, buf.data(), buf.size()), ssize_t(buf.size()));
  ::close(fd);
  for (const auto method : {ResidencyMethod::automatic, ResidencyMethod::mincore}) {
    const Residency r = residency(path_, method);
    EXPECT_GE(r.pct(), 24.0) << r.method;
    EXPECT_LE(r.pct(), 30.0) << r.method;
  }
}

TEST_F(CacheTest, EmptyFileHasNoPages) {
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  for (const auto method : {ResidencyMethod::automatic, ResidencyMethod::mincore}) {
    const Residency r = residency(path_, method);
    EXPECT_EQ(r.file_pages, 0u);
    EXPECT_EQ(r.resident_pages, 0u);
    EXPECT_EQ(r.pct(), 0.0);
  }
}

TEST_F(CacheTest, PartialLastPageCounts) {
  ASSERT_EQ(::truncate(path_.c_str(), 4096 * 3 + 1), 0);
  const Residency r = warm(path_);
  EXPECT_EQ(r.file_pages, 4u);
  EXPECT_EQ(r.resident_pages, 4u);
  EXPECT_EQ(residency(path_, ResidencyMethod::mincore).resident_pages, 4u);
}

TEST(CacheErrors, MissingFileNamesFileAndSyscall) {
  const std::string path = "/var/tmp/faultline-test-no-such-file";
  for (const auto& call :
       {+[](const std::string& p) { residency(p); }, +[](const std::string& p) { evict(p); },
        +[](const std::string& p) { warm(p); }}) {
    try {
      call(path);
      ADD_FAILURE() << "no exception";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find("open(" + path + ")"), std::string::npos) << e.what();
    }
  }
}

// As another user, residency must refuse clearly: cachestat says EPERM, and
// mincore would report every page resident, so neither may pass for an answer.
TEST_F(CacheTest, NonOwnerGetsAClearPermissionError) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  const auto refused = [&](ResidencyMethod method) {
    try {
      residency(path_, method);
      std::fprintf(stderr, "no exception\n");
    } catch (const std::system_error& e) {
      if (e.code().value() == EPERM && std::string(e.what()).find("owner") != std::string::npos)
        return true;
      std::fprintf(stderr, "wrong error: %s\n", e.what());
    }
    return false;
  };
  EXPECT_EXIT(
      {
        if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
          std::_Exit(2);
        const bool ok = refused(ResidencyMethod::automatic) && refused(ResidencyMethod::mincore);
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// Runs `body` as nobody (uid/gid 65534) in a forked child, after `as_root`
// (as root) there; the child exits 0 when body is true.
#define AS_NOBODY(as_root, body)                                                     \
  EXPECT_EXIT(                                                                       \
      {                                                                              \
        as_root;                                                                     \
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || \
            ::setresuid(65534, 65534, 65534) != 0)                                   \
          std::_Exit(2);                                                             \
        std::_Exit((body) ? 0 : 1);                                                  \
      },                                                                             \
      ::testing::ExitedWithCode(0), "")

// Writes `bytes` of a fresh file without syncing it: its pages are dirty.
bool write_unsynced(const std::string& path, std::uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::vector<char> block(std::size_t{1} << 20, 'm');
  for (std::uint64_t done = 0; done < bytes; done += block.size())
    if (::write(fd, block.data(), block.size()) != ssize_t(block.size())) return false;
  return ::close(fd) == 0;
}

// A model that was just copied is dirty in the page cache, and DONTNEED
// drops only clean pages: eviction writes it back first, so an unprivileged
// user (who cannot drop caches) gets it cold.
TEST(CacheColdAsUser, AFreshlyWrittenFileIsMadeCold) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  if (!cachestat_available()) GTEST_SKIP() << "no cachestat(2): dirty pages cannot be counted";
  const std::string path = "/var/tmp/faultline-test-fresh-" + std::to_string(::getpid());
  AS_NOBODY((void)0, [&] {
    if (!write_unsynced(path, kFileBytes)) return false;
    const Residency dirty = residency(path);
    const Residency cold = make_cold(path);
    ::unlink(path.c_str());
    std::fprintf(stderr, "dirty before: %lu of %lu pages; after make_cold: %.2f%%\n",
                 (unsigned long)dirty.dirty_pages, (unsigned long)dirty.file_pages, cold.pct());
    return dirty.dirty_pages > dirty.file_pages / 2 && cold.pct() <= 1.0 && cold.dirty_pages == 0;
  }());
}

// A file another process maps and locks stays resident; the message names
// that process, says it is locked, and what to do.
TEST(CacheColdAsUser, AMappedAndLockedFileNamesTheProcess) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  const std::string path = "/var/tmp/faultline-test-locked-" + std::to_string(::getpid());
  constexpr std::uint64_t kLocked = std::uint64_t{4} << 20;  // within the usual 8 MiB ulimit -l
  AS_NOBODY((void)0, [&] {
    if (!write_unsynced(path, kLocked)) return false;
    int ready[2];
    if (::pipe(ready) != 0) return false;
    const pid_t locker = ::fork();
    if (locker == 0) {  // the other process: map, lock, say so, wait to be killed
      ::prctl(PR_SET_NAME, "fl-locker");
      // A process that changed its uid is not dumpable, which hides its
      // /proc/PID/maps even from its own user; one started as nobody is.
      ::prctl(PR_SET_DUMPABLE, 1);
      const int fd = ::open(path.c_str(), O_RDONLY);
      void* p = ::mmap(nullptr, kLocked, PROT_READ, MAP_SHARED, fd, 0);
      const char ok = p != MAP_FAILED && ::mlock(p, kLocked) == 0 ? 'y' : 'n';
      (void)!::write(ready[1], &ok, 1);
      for (;;) ::pause();
    }
    char ok = 'n';
    (void)!::read(ready[0], &ok, 1);
    std::string message;
    try {
      make_cold(path);
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    ::kill(locker, SIGKILL);
    ::waitpid(locker, nullptr, 0);
    ::unlink(path.c_str());
    std::fprintf(stderr, "locker %d: %c; message: %s\n", int(locker), ok, message.c_str());
    const auto has = [&](const std::string& part) {
      return message.find(part) != std::string::npos;
    };
    return ok == 'y' && has("still resident") && has("pid " + std::to_string(locker)) &&
           has("fl-locker") && has("locked with mlock") && has("end that process");
  }());
}

TEST_F(CacheTest, GlobalDropEvicts) {
  if (::geteuid() != 0) GTEST_SKIP() << "the global drop needs root";
  if (!can_drop_caches()) GTEST_SKIP() << "/proc/sys/vm/drop_caches is not writable here";
  // Evicting another file with the global drop must also drop this one.
  ASSERT_GE(warm(path_).pct(), 99.0);
  const std::string other = path_ + ".other";
  const int fd = ::open(other.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
  const Residency other_after = evict(other, /*global_drop=*/true);
  ::unlink(other.c_str());
  EXPECT_EQ(other_after.resident_pages, 0u);
  const Residency r = residency(path_);
  EXPECT_LE(r.pct(), 1.0) << r.resident_pages << " of " << r.file_pages << " pages";
}

TEST(CacheDrop, UnprivilegedCannotDrop) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root";
  EXPECT_FALSE(can_drop_caches());
}

}  // namespace
}  // namespace faultline
