// Every strategy yields exactly the file's bytes; the policy errors are clear.
#include <grp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
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

// Runs `fn` in a child process that cannot lock more than 64 KiB (as an
// unprivileged user when we are root); returns the child's message.
std::string in_limited_child(const std::string& path, const std::string& spec) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    struct rlimit rl {
      64 * 1024, 64 * 1024
    };
    ::setrlimit(RLIMIT_MEMLOCK, &rl);
    if (::geteuid() == 0) {  // root ignores RLIMIT_MEMLOCK: become nobody
      ::setgroups(0, nullptr);
      if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(3);
    }
    std::string msg = "loaded";
    try {
      Mapping m = load(path, parse_strategy(spec));
      if (!m.warnings().empty()) msg = "warning: " + m.warnings().front();
    } catch (const std::exception& e) {
      msg = std::string("error: ") + e.what();
    }
    (void)!::write(pipefd[1], msg.data(), msg.size());
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
  return out;
}

TEST_F(LoadTest, MlockAboveTheLimitNamesRlimitMemlock) {
  std::string msg = in_limited_child(file_->path(), "mmap:private,mlock");
  EXPECT_THAT(msg, HasSubstr("error: "));
  EXPECT_THAT(msg, HasSubstr("RLIMIT_MEMLOCK is 64K"));
  EXPECT_THAT(msg, HasSubstr(file_->path()));
}

TEST_F(LoadTest, LlamaCppMlockWarnsAndGoesOnUnlocked) {
  std::string msg = in_limited_child(file_->path(), "llama.cpp:mlock");
  EXPECT_THAT(msg, HasSubstr("warning: "));
  EXPECT_THAT(msg, HasSubstr("ulimit -l"));
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

TEST(LoadDirect, RefusalIsClearAndLlamaCppFallsBack) {
  if (!testing::is_root())
    GTEST_SKIP() << "needs root to mount a ramfs (a file system without O_DIRECT)";
  RamfsDir ramfs;
  ASSERT_TRUE(ramfs.mounted()) << "mount -t ramfs failed";
  {
    TempFile f(1 << 20, 3, ramfs.dir());
    try {
      load(f.path(), parse_strategy("direct"));
      FAIL() << "ramfs accepted O_DIRECT";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("refuses O_DIRECT"));
      EXPECT_THAT(e.what(), HasSubstr(f.path()));
    }
    Mapping m = load(f.path(), parse_strategy("llama.cpp:direct"));
    EXPECT_EQ(m.size(), f.size());
    ASSERT_FALSE(m.warnings().empty());
    EXPECT_THAT(m.warnings().front(), HasSubstr("fell back to buffered"));
  }
}

}  // namespace
}  // namespace faultline
