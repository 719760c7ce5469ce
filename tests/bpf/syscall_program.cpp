// faultline-test-syscalls: a program with known calls on one file, for the
// syscall log's known-answer tests (tests/bpf/syscall_log_test.cpp).
//
//   faultline-test-syscalls known FILE   preads kRanges fixed ranges, then
//       posix_fadvise(SEQUENTIAL) of the whole file, mmap(PROT_READ,
//       MAP_SHARED|MAP_POPULATE) of the whole file, madvise(WILLNEED) of it,
//       munmap of its 2nd page (a fragment), munmap of the rest
//   faultline-test-syscalls llama FILE   as llama.cpp's default load:
//       fadvise SEQUENTIAL, mmap MAP_SHARED|MAP_POPULATE, madvise WILLNEED
//   faultline-test-syscalls tensors FILE preads ranges of varying sizes, in order
//   faultline-test-syscalls lock FILE    mmap(PROT_READ, MAP_PRIVATE) of the whole
//       file, madvise(RANDOM) of it, mlock of [64K, 128K), mlock2(0) of
//       [256K, 384K), munmap of the whole mapping
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Range {
  off_t offset;
  size_t bytes;
};

// The fixed ranges of `known` (the test asserts the same list).
const Range kRanges[] = {{0, 4096}, {65536, 8192}, {12288, 100}, {1 << 20, 65536}};

int fail(const char* what) {
  std::perror(what);
  return 1;
}

int map_like_llama(int fd, size_t size, bool fragment) {
  if (posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) != 0) return fail("posix_fadvise");
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) return fail("mmap");
  if (madvise(p, size, MADV_WILLNEED) != 0) return fail("madvise");
  char* c = static_cast<char*>(p);
  if (fragment) {
    if (munmap(c + 4096, 4096) != 0) return fail("munmap");
    if (munmap(c, 4096) != 0 || munmap(c + 8192, size - 8192) != 0) return fail("munmap");
  } else if (munmap(p, size) != 0) {
    return fail("munmap");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s known|llama|tensors|lock FILE\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("open");
  struct stat st;
  if (fstat(fd, &st) != 0) return fail("fstat");
  const size_t size = size_t(st.st_size);
  std::vector<char> buf(1 << 20);
  int rc = 0;
  if (mode == "known") {
    for (const Range& r : kRanges)
      if (pread(fd, buf.data(), r.bytes, r.offset) != ssize_t(r.bytes)) return fail("pread");
    rc = map_like_llama(fd, size, true);
  } else if (mode == "llama") {
    rc = map_like_llama(fd, size, false);
  } else if (mode == "lock") {
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return fail("mmap");
    char* c = static_cast<char*>(p);
    if (madvise(p, size, MADV_RANDOM) != 0) return fail("madvise");
    // The syscall, not libc's mlock(): ASan's runtime makes that a no-op.
    if (syscall(SYS_mlock, c + 65536, 65536) != 0) return fail("mlock");
    // glibc turns mlock2(..., 0) into mlock: the syscall itself.
    if (syscall(SYS_mlock2, c + 262144, 131072, 0) != 0) return fail("mlock2");
    if (munmap(p, size) != 0) return fail("munmap");
  } else if (mode == "tensors") {
    off_t off = 0;
    for (size_t i = 0; off < off_t(size); ++i) {
      const size_t n = std::min<size_t>((i % 5 + 1) * 40000, size - size_t(off));
      if (pread(fd, buf.data(), n, off) != ssize_t(n)) return fail("pread");
      off += off_t(n);
    }
  } else {
    std::fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  close(fd);
  return rc;
}
