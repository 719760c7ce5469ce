// read_smaps(): smaps text into mappings (headers with spaces in the path,
// the rollup's pseudo-mapping, fields that are not kB), and this process's
// own mapping of a file: its Rss is the pages touched, found by device and
// inode in smaps, and its range in maps.
#include "common/smaps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace faultline {
namespace {

constexpr const char* kText =
    "7f0000000000-7f0000004000 r--s 00001000 fe:00 1149169    /var/tmp/a model.gguf\n"
    "Size:                 16 kB\n"
    "Rss:                   8 kB\n"
    "Pss:                   4 kB\n"
    "Locked:                0 kB\n"
    "THPeligible:    0\n"
    "VmFlags: rd sh mr mw me ms sd\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "Rss:                  12 kB\n";

TEST(Smaps, ParsesHeadersAndKbFields) {
  const auto maps = parse_smaps(kText);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].start, 0x7f0000000000u);
  EXPECT_EQ(maps[0].end, 0x7f0000004000u);
  EXPECT_EQ(maps[0].offset, 0x1000u);
  EXPECT_EQ(maps[0].perms, "r--s");
  EXPECT_EQ(maps[0].major, 0xfeu);
  EXPECT_EQ(maps[0].minor, 0u);
  EXPECT_EQ(maps[0].inode, 1149169u);
  EXPECT_EQ(maps[0].path, "/var/tmp/a model.gguf");
  EXPECT_EQ(maps[0].bytes("Rss"), 8192u);
  EXPECT_EQ(maps[0].bytes("Pss"), 4096u);
  EXPECT_EQ(maps[0].bytes("THPeligible"), 0u);  // not a kB field
  EXPECT_EQ(maps[0].kib.count("VmFlags"), 0u);
  EXPECT_TRUE(maps[0].maps({::makedev(0xfe, 0), 1149169, ""}));
  EXPECT_FALSE(maps[0].maps({::makedev(0xfe, 1), 1149169, ""}));
  // Another device (a btrfs subvolume's): the inode and the path still tell.
  EXPECT_TRUE(maps[0].maps({::makedev(0, 42), 1149169, "/var/tmp/a model.gguf"}));
  EXPECT_FALSE(maps[0].maps({::makedev(0, 42), 1149170, "/var/tmp/a model.gguf"}));
  EXPECT_EQ(maps[1].path, "[stack]");
  EXPECT_FALSE(maps[1].maps({::makedev(0, 0), 0, "[stack]"})) << "inode 0 is no file";
  EXPECT_EQ(file_field_bytes(maps, {::makedev(0xfe, 0), 1149169, ""}, "Size"), 16384u);
}

TEST(Smaps, TheRollupIsOnePseudoMapping) {
  const auto r = parse_smaps(
      "55d0c7a4d000-7ffc3c1e4000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:                4096 kB\nPss:                2048 kB\nAnonymous:          1024 kB\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].path, "[rollup]");
  EXPECT_EQ(r[0].bytes("Anonymous"), 1024u * 1024);
}

TEST(Smaps, ThisProcessesMappingOfAFileHasTheTouchedPages) {
  std::string path = "/tmp/faultline-smaps-XXXXXX";
  const int fd = ::mkstemp(path.data());
  ASSERT_GE(fd, 0);
  constexpr std::size_t kPages = 64, kTouched = 10;
  ASSERT_EQ(::ftruncate(fd, kPages * 4096), 0);
  const auto file = file_key(path);
  ASSERT_TRUE(file);
  auto* p =
      static_cast<volatile char*>(::mmap(nullptr, kPages * 4096, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  // MADV_RANDOM: no readahead, so only the touched pages (every other one)
  // enter the page cache and fault-around finds no neighbour to map.
  ::madvise(const_cast<char*>(p), kPages * 4096, MADV_RANDOM);
  for (std::size_t i = 0; i < kTouched; ++i) (void)p[i * 2 * 4096];
  const auto maps = read_smaps();
  EXPECT_EQ(file_field_bytes(maps, *file, "Size"), kPages * 4096);
  EXPECT_EQ(file_field_bytes(maps, *file, "Rss"), kTouched * 4096);
  std::uint64_t in_maps = 0;
  for (const auto& m : read_smaps(0, "maps"))
    if (m.maps(*file)) in_maps += m.end - m.start;
  EXPECT_EQ(in_maps, kPages * 4096);
  ::munmap(const_cast<char*>(p), kPages * 4096);
  ::close(fd);
  ::unlink(path.c_str());
}

TEST(Smaps, AGoneProcessHasNoMappings) {
  EXPECT_TRUE(read_smaps(999999999).empty());
}

}  // namespace
}  // namespace faultline
