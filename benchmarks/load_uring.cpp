// direct and uring: the file read into one heap buffer with io_uring at a
// queue depth (or plain pread at qd=1), through O_DIRECT (direct) or the page
// cache (uring).
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "benchmarks/load_ranges.h"
#include "benchmarks/loaders.h"
#include "common/size.h"
#include "common/unique_fd.h"

namespace faultline::detail {
namespace {

struct Buffer {
  std::uint8_t* data = nullptr;
  ~Buffer() { std::free(data); }
  std::uint8_t* release() { return std::exchange(data, nullptr); }
};

// [0, size) of fd into buf in chunk-sized requests, `qd` in flight
// (detail::uring_read_requests, shared with load_ranges()).
void uring_read_all(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t size,
                    std::uint64_t chunk, int qd, std::uint64_t align) {
  std::vector<ReadRequest> reqs;
  for (std::uint64_t off = 0; off < size; off += chunk)
    reqs.push_back({off, std::min(chunk, size - off), 0});
  uring_read_requests(fd, path, buf, size, reqs, qd, align);
}

Mapping read_with_uring(const std::string& path, const Strategy& s, bool direct) {
  UniqueFd fd;
  int open_flags = O_RDONLY | (direct ? O_DIRECT : 0);
  int raw = ::open(path.c_str(), open_flags | O_CLOEXEC);
  if (raw < 0 && direct && errno == EINVAL) {
    if (s.fallback == DirectFallback::kBuffered) {
      // fallback=buffered (llama.cpp's direct mode): chunked read() instead.
      Strategy buffered;
      buffered.method = LoadMethod::kRead;
      Mapping m = load_read(path, buffered);
      m.add_warning(path +
                    ": the filesystem refuses O_DIRECT; fell back to buffered read() "
                    "(fallback=buffered, as llama.cpp does)");
      return m;
    }
    throw std::runtime_error(fmt::format(
        "{}: the filesystem refuses O_DIRECT (open: EINVAL); use read, pread or uring here, or "
        "direct:fallback=buffered",
        path));
  }
  if (raw < 0) throw sys_error("open", path);
  fd = UniqueFd(raw);
  std::uint64_t size = file_size_of(fd.get(), path);

  // O_DIRECT alignment: the file system's block size (as llama.cpp uses
  // st_blksize), at least 4 KiB.
  std::uint64_t align = 1;
  if (direct) {
    struct stat st {};
    ::fstat(fd.get(), &st);
    align = std::max<std::uint64_t>(4096, static_cast<std::uint64_t>(st.st_blksize));
  }
  std::uint64_t chunk = s.chunk_bytes();
  if (direct && chunk % align != 0)
    throw std::runtime_error(
        fmt::format("{}: chunk={} is not a multiple of the O_DIRECT alignment {}", path,
                    format_size(chunk), align));
  std::uint64_t alloc = (size + align - 1) / align * align;
  Buffer buf;
  void* p = nullptr;
  if (::posix_memalign(&p, std::max<std::uint64_t>(align, 4096), alloc) != 0)
    throw std::runtime_error(path + ": cannot allocate an aligned buffer for the whole file");
  buf.data = static_cast<std::uint8_t*>(p);

  try {
    if (s.queue_depth() <= 1)
      pread_range(fd.get(), path, buf.data, 0, size, chunk, align);
    else
      uring_read_all(fd.get(), path, buf.data, size, chunk, s.queue_depth(), align);
  } catch (const std::system_error& e) {
    if (direct && e.code().value() == EINVAL) throw detail::direct_alignment_error(path, align);
    throw;
  }
  return Mapping::from_heap(buf.release(), size, true);
}

}  // namespace

Mapping load_direct(const std::string& path, const Strategy& s) {
  return read_with_uring(path, s, true);
}

Mapping load_uring(const std::string& path, const Strategy& s) {
  return read_with_uring(path, s, false);
}

}  // namespace faultline::detail
