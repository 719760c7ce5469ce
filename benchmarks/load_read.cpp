// read and pread: the file copied into one anonymous heap buffer with
// read(2) in chunks, or with N threads each pread(2)ing its own range.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "benchmarks/loaders.h"
#include "common/unique_fd.h"

namespace faultline::detail {
namespace {

struct FreeDeleter {
  void operator()(std::uint8_t* p) const { std::free(p); }
};
using HeapBuffer = std::unique_ptr<std::uint8_t, FreeDeleter>;

HeapBuffer allocate(std::uint64_t size, const std::string& path) {
  auto* p = static_cast<std::uint8_t*>(std::malloc(size));
  if (!p)
    throw std::runtime_error(path + ": cannot allocate a " + std::to_string(size) +
                             "-byte buffer for the whole file");
  return HeapBuffer(p);
}

}  // namespace

void pread_range(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t begin,
                 std::uint64_t end, std::uint64_t chunk, std::uint64_t align) {
  std::uint64_t off = begin;
  while (off < end) {
    std::uint64_t want = std::min<std::uint64_t>(chunk, end - off);
    want = (want + align - 1) / align * align;
    ssize_t n = ::pread(fd, buf + off, static_cast<std::size_t>(want), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("pread", path);
    }
    if (n == 0) throw std::runtime_error(path + ": file shrank while loading");
    off += static_cast<std::uint64_t>(n);
  }
}

Mapping load_read(const std::string& path, const Strategy& s) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  std::uint64_t size = file_size_of(fd.get(), path);
  HeapBuffer buf = allocate(size, path);
  const std::uint64_t chunk = s.chunk_bytes();
  std::uint64_t off = 0;
  while (off < size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - off));
    ssize_t n = ::read(fd.get(), buf.get() + off, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read", path);
    }
    if (n == 0) throw std::runtime_error(path + ": file shrank while loading");
    off += static_cast<std::uint64_t>(n);
  }
  return Mapping::from_heap(buf.release(), size, false);
}

Mapping load_pread(const std::string& path, const Strategy& s) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  std::uint64_t size = file_size_of(fd.get(), path);
  HeapBuffer buf = allocate(size, path);
  const std::uint64_t chunk = s.chunk_bytes();
  const int threads = std::max(1, s.thread_count());
  // Split into `threads` contiguous ranges, each a whole number of chunks.
  std::uint64_t chunks = (size + chunk - 1) / chunk;
  std::uint64_t per = (chunks + threads - 1) / threads;
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  for (int t = 0; t < threads; ++t) {
    std::uint64_t begin = std::min(size, std::uint64_t(t) * per * chunk);
    std::uint64_t end = std::min(size, begin + per * chunk);
    if (begin >= end) break;
    pool.emplace_back([&, t, begin, end] {
      try {
        pread_range(fd.get(), path, buf.get(), begin, end, chunk);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return Mapping::from_heap(buf.release(), size, false);
}

}  // namespace faultline::detail
