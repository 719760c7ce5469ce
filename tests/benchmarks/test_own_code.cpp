// prefault_own_code(): a cold file this process maps read-only (as it maps
// its executable and libraries) is mapped in by it, every page, with the
// page cache read now (before a timed region would start); a mapping of the
// model is left alone, so a cold model stays cold.
#include "benchmarks/own_code.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "benchmarks/cache.h"
#include "common/smaps.h"
#include "tests/support/temp_file.h"

namespace faultline {
namespace {

constexpr std::size_t kBytes = 4u << 20;

struct ReadOnlyMapping {
  explicit ReadOnlyMapping(const std::string& path) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    p = ::mmap(nullptr, kBytes, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ~ReadOnlyMapping() {
    ::munmap(p, kBytes);
    ::close(fd);
  }
  int fd = -1;
  void* p = MAP_FAILED;
};

std::uint64_t rss_of(const std::string& path) {
  const auto key = file_key(path);
  return key ? file_field_bytes(read_smaps(), *key, "Rss") : 0;
}

TEST(OwnCode, ItsFileMappingsAreMappedInButNotTheModels) {
  testing::TempFile lib(kBytes, 3), model(kBytes, 4);
  make_cold(lib.path());
  make_cold(model.path());
  ReadOnlyMapping lib_map(lib.path()), model_map(model.path());
  ASSERT_NE(lib_map.p, MAP_FAILED);
  ASSERT_NE(model_map.p, MAP_FAILED);
  ASSERT_EQ(rss_of(lib.path()), 0u);
  prefault_own_code(model.path());
  EXPECT_EQ(rss_of(lib.path()), kBytes) << "every page of the other file mapped in";
  EXPECT_GT(residency(lib.path()).pct(), 99.0);
  EXPECT_EQ(rss_of(model.path()), 0u) << "the model's mapping untouched";
  EXPECT_LT(residency(model.path()).pct(), 1.0) << "and the model still cold";
}

}  // namespace
}  // namespace faultline
