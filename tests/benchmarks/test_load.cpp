// Every strategy yields exactly the file's bytes; the policy errors are clear.
#include <grp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "benchmarks/mapping.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

using ::testing::HasSubstr;
using testing::TempFile;

class LoadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    file_ = new TempFile(24ull << 20 | 12345);  // not a multiple of 4 KiB on purpose
    std::vector<std::uint8_t> all(file_->size());
    FILE* f = std::fopen(file_->path().c_str(), "rb");
    ASSERT_EQ(std::fread(all.data(), 1, all.size(), f), all.size());
    std::fclose(f);
    reference_ = testing::fnv1a(all.data(), all.size());
  }
  static void TearDownTestSuite() { delete file_; }
  static TempFile* file_;
  static std::uint64_t reference_;
};
TempFile* LoadTest::file_ = nullptr;
std::uint64_t LoadTest::reference_ = 0;

TEST_F(LoadTest, EveryStrategyYieldsTheFileBytes) {
  std::vector<std::string> specs = default_strategy_specs();
  for (const char* extra : {"read:chunk=64K", "pread:threads=3,chunk=1M", "direct:qd=4,chunk=64K",
                            "uring", "uring:qd=32,chunk=256K", "mmap:private,advise=dontneed",
                            "mmap:shared,advise=sequential", "mmap:private,fadvise=noreuse",
                            "mmap:private,fadvise=willneed", "mmap:private,fadvise=random"})
    specs.push_back(extra);
  for (const auto& spec : specs) {
    SCOPED_TRACE(spec);
    Mapping m = load(file_->path(), parse_strategy(spec));
    ASSERT_EQ(m.size(), file_->size());
    EXPECT_EQ(testing::fnv1a(m.data(), m.size()), reference_);
  }
}

TEST_F(LoadTest, MissingFileNamesThePath) {
  try {
    load("/nonexistent/model.gguf", parse_strategy("read"));
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/model.gguf"));
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

TEST_F(LoadTest, MmapMappingIsReadOnlyAndUnmappedOnDestruction) {
  const std::uint8_t* addr = nullptr;
  {
    Mapping m = load(file_->path(), parse_strategy("mmap:private"));
    addr = m.data();
    EXPECT_TRUE(m.is_mmap());
    unsigned char vec = 0;
    EXPECT_EQ(::mincore(const_cast<std::uint8_t*>(addr), 4096, &vec), 0);
  }
  unsigned char vec = 0;
  EXPECT_EQ(::mincore(const_cast<std::uint8_t*>(addr), 4096, &vec), -1) << "unmapped";
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(LoadTest, HugepageMappingIsPmdAligned) {
  Mapping m = load(file_->path(), parse_strategy("mmap:private,advise=hugepage"));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data()) % (2u << 20), 0u);
}

// What a load left behind, as the loading process saw it.
struct LoadReport {
  std::string outcome;  // "loaded" or "error: ..."
  std::vector<std::string> warnings;
  bool locked = false;                   // Mapping::locked()
  std::uint64_t vmlck_kb = 0;            // VmLck of /proc/self/status
  std::uint64_t pages = 0, present = 0;  // the mapping's pages, and those mapped (pagemap)
  bool bytes_ok = false;                 // the file's bytes
};

std::uint64_t status_kb(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return ~0ull;
  char line[256];
  std::uint64_t kb = ~0ull;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0) kb = std::strtoull(line + n, nullptr, 10);
  std::fclose(f);
  return kb;
}

// Pages of [p, p+size) mapped in this process (/proc/self/pagemap bit 63);
// ~0 when pagemap cannot be read.
std::uint64_t present_pages(const std::uint8_t* p, std::uint64_t size) {
  const std::uint64_t first = reinterpret_cast<std::uintptr_t>(p) / 4096;
  const std::uint64_t n = (size + 4095) / 4096;
  std::vector<std::uint64_t> entries(n);
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ~0ull;
  ssize_t got = ::pread(fd, entries.data(), n * 8, static_cast<off_t>(first * 8));
  ::close(fd);
  if (got != static_cast<ssize_t>(n * 8)) return ~0ull;
  std::uint64_t present = 0;
  for (auto e : entries) present += (e >> 63) & 1;
  return present;
}

LoadReport report_load(const std::string& path, const std::string& spec, std::uint64_t ref) {
  LoadReport r;
  try {
    Mapping m = load(path, parse_strategy(spec));
    r.outcome = "loaded";
    r.warnings = m.warnings();
    r.locked = m.locked();
    r.vmlck_kb = status_kb("VmLck:");
    r.pages = (m.size() + 4095) / 4096;
    r.present = m.is_mmap() ? present_pages(m.data(), m.size()) : r.pages;
    r.bytes_ok = testing::fnv1a(m.data(), m.size()) == ref;
  } catch (const std::exception& e) {
    r.outcome = std::string("error: ") + e.what();
  }
  return r;
}

// Loads `spec` in a child process that cannot lock more than 64 KiB: as
// nobody when we are root (root's CAP_IPC_LOCK ignores RLIMIT_MEMLOCK;
// setresuid to a non-root uid drops it). nullopt when the child could not
// drop its privileges.
std::optional<LoadReport> in_limited_child(const std::string& path, const std::string& spec,
                                           std::uint64_t ref) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    struct rlimit rl {
      64 * 1024, 64 * 1024
    };
    if (::setrlimit(RLIMIT_MEMLOCK, &rl) != 0) _exit(3);
    if (::geteuid() == 0) {
      ::setgroups(0, nullptr);
      if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(3);
      // The uid change made the process undumpable: its /proc files root's.
      ::prctl(PR_SET_DUMPABLE, 1);
    }
    LoadReport r = report_load(path, spec, ref);
    std::string out =
        fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n", r.outcome, int(r.locked), r.vmlck_kb, r.pages,
                    r.present, int(r.bytes_ok), r.warnings.size());
    for (const auto& w : r.warnings) out += w + "\n";
    (void)!::write(pipefd[1], out.data(), out.size());
    _exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, n);
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < out.size();) {
    std::size_t nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.size() < 7) return std::nullopt;
  LoadReport r;
  r.outcome = lines[0];
  r.locked = lines[1] == "1";
  r.vmlck_kb = std::stoull(lines[2]);
  r.pages = std::stoull(lines[3]);
  r.present = std::stoull(lines[4]);
  r.bytes_ok = lines[5] == "1";
  r.warnings.assign(lines.begin() + 7, lines.end());
  EXPECT_EQ(r.warnings.size(), std::stoull(lines[6])) << "a warning holds a newline";
  return r;
}

TEST_F(LoadTest, HardMlockAboveTheLimitFailsNamingRlimitMemlock) {
  auto r = in_limited_child(file_->path(), "mmap:private,mlock", reference_);
  if (!r) GTEST_SKIP() << "the child could not lower RLIMIT_MEMLOCK or drop to uid 65534";
  EXPECT_THAT(r->outcome, HasSubstr("error: "));
  EXPECT_THAT(r->outcome, HasSubstr("RLIMIT_MEMLOCK is 64K"));
  EXPECT_THAT(r->outcome, HasSubstr(file_->path()));
  // The same load as llama.cpp:mlock's expansion, but hard: it fails too.
  auto llama_hard = in_limited_child(
      file_->path(), "mmap:shared,populate,fadvise=sequential,advise=willneed,mlock", reference_);
  ASSERT_TRUE(llama_hard);
  EXPECT_THAT(llama_hard->outcome, HasSubstr("RLIMIT_MEMLOCK is 64K"));
}

// llama.cpp:mlock and the expansion it prints behave the same: one warning,
// the mapping unlocked, every page mapped (MAP_POPULATE), the file's bytes.
TEST_F(LoadTest, SoftMlockWarnsOnceAndGoesOnUnlockedAsThePresetDoes) {
  std::string expansion;
  for (const auto& p : presets())
    if (p.name == "llama.cpp:mlock") expansion = p.expansion;
  ASSERT_THAT(expansion, HasSubstr("mlock=soft"));
  for (const std::string& spec : {std::string("llama.cpp:mlock"), expansion}) {
    SCOPED_TRACE(spec);
    auto r = in_limited_child(file_->path(), spec, reference_);
    if (!r) GTEST_SKIP() << "the child could not lower RLIMIT_MEMLOCK or drop to uid 65534";
    EXPECT_EQ(r->outcome, "loaded");
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_THAT(r->warnings[0], HasSubstr("ulimit -l"));
    EXPECT_THAT(r->warnings[0], HasSubstr("continuing unlocked"));
    EXPECT_FALSE(r->locked);
    EXPECT_EQ(r->vmlck_kb, 0u) << "nothing stays locked";
    EXPECT_EQ(r->present, r->pages) << "every page mapped";
    EXPECT_GT(r->pages, 64u * 1024 / 4096) << "the file is above the limit";
    EXPECT_TRUE(r->bytes_ok);
  }
}

TEST_F(LoadTest, SoftMlockWithinTheLimitLocks) {
  struct rlimit rl {};
  ::getrlimit(RLIMIT_MEMLOCK, &rl);
  if (!testing::is_root() && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < file_->size())
    GTEST_SKIP() << "RLIMIT_MEMLOCK is below the test file and we are not root";
  LoadReport r = report_load(file_->path(), "mmap:private,mlock=soft", reference_);
  EXPECT_EQ(r.outcome, "loaded");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(r.locked);
  EXPECT_GE(r.vmlck_kb * 1024, file_->size() / 4096 * 4096);
  EXPECT_EQ(r.present, r.pages);
  EXPECT_TRUE(r.bytes_ok);
}

// ramfs has no O_DIRECT: open() fails with EINVAL, as on some FUSE and
// network file systems.
class RamfsDir {
 public:
  RamfsDir() {
    char tmpl[] = "/tmp/faultline-ramfs-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    mounted_ = ::mount("ramfs", dir_.c_str(), "ramfs", 0, "mode=0755") == 0;
  }
  ~RamfsDir() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

std::uint64_t rchar() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  std::uint64_t v = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "rchar:", 6) == 0) v = std::strtoull(line + 6, nullptr, 10);
  std::fclose(f);
  return v;
}

// direct fails clearly where O_DIRECT is refused; direct:fallback=buffered
// and the llama.cpp:direct preset (its expansion) read every byte buffered,
// with one warning. (tmpfs takes O_DIRECT since Linux 6.6: ramfs does not.)
TEST(LoadDirect, RefusalIsClearAndTheFallbackReadsBuffered) {
  if (!testing::is_root())
    GTEST_SKIP() << "needs root to mount a ramfs (a file system without O_DIRECT)";
  RamfsDir ramfs;
  ASSERT_TRUE(ramfs.mounted()) << "mount -t ramfs failed";
  TempFile f((1 << 20) | 777, 3, ramfs.dir());
  std::uint64_t ref = 0;
  {
    Mapping m = load(f.path(), parse_strategy("read"));
    ref = testing::fnv1a(m.data(), m.size());
  }
  try {
    load(f.path(), parse_strategy("direct"));
    FAIL() << "ramfs accepted O_DIRECT";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("refuses O_DIRECT"));
    EXPECT_THAT(e.what(), HasSubstr(f.path()));
    EXPECT_THAT(e.what(), HasSubstr("direct:fallback=buffered"));
  }
  for (const char* spec :
       {"direct:fallback=buffered", "llama.cpp:direct", "direct:qd=8,fallback=buffered"}) {
    SCOPED_TRACE(spec);
    const std::uint64_t before = rchar();
    Mapping m = load(f.path(), parse_strategy(spec));
    EXPECT_GE(rchar() - before, f.size()) << "every byte read()";
    EXPECT_FALSE(m.is_mmap());
    ASSERT_EQ(m.size(), f.size());
    EXPECT_EQ(testing::fnv1a(m.data(), m.size()), ref);
    ASSERT_EQ(m.warnings().size(), 1u);
    EXPECT_THAT(m.warnings().front(), HasSubstr("fell back to buffered"));
  }
}

// Where O_DIRECT works, the fallback is never taken.
TEST_F(LoadTest, DirectFallbackIsSilentWhereODirectWorks) {
  Mapping m = load(file_->path(), parse_strategy("direct:fallback=buffered"));
  EXPECT_TRUE(m.warnings().empty());
  EXPECT_EQ(testing::fnv1a(m.data(), m.size()), reference_);
}

}  // namespace
}  // namespace faultline
