// direct and uring: the file read into one heap buffer with io_uring at a
// queue depth (or plain pread at qd=1), through O_DIRECT (direct) or the page
// cache (uring).
#include <liburing.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

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

struct Request {
  std::uint64_t offset;
  std::uint64_t len;
};

// Read [0, size) of fd into buf with `qd` requests in flight. For O_DIRECT the
// lengths are rounded up to `align` (the buffer has room for it); a read that
// ends at EOF returns short, which is fine.
void uring_read_all(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t size,
                    std::uint64_t chunk, int qd, std::uint64_t align) {
  struct io_uring ring;
  int rc = io_uring_queue_init(static_cast<unsigned>(qd), &ring, 0);
  if (rc < 0) throw sys_error("io_uring_queue_init", path, -rc);
  struct RingGuard {
    io_uring* r;
    ~RingGuard() { io_uring_queue_exit(r); }
  } guard{&ring};

  std::deque<Request> todo;
  for (std::uint64_t off = 0; off < size; off += chunk)
    todo.push_back({off, std::min(chunk, size - off)});
  std::vector<Request> slots(static_cast<std::size_t>(qd));
  std::vector<int> free_slots;
  for (int i = qd - 1; i >= 0; --i) free_slots.push_back(i);
  int inflight = 0;

  while (!todo.empty() || inflight > 0) {
    while (!todo.empty() && !free_slots.empty()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (!sqe) break;
      int slot = free_slots.back();
      free_slots.pop_back();
      slots[slot] = todo.front();
      todo.pop_front();
      std::uint64_t len = (slots[slot].len + align - 1) / align * align;
      io_uring_prep_read(sqe, fd, buf + slots[slot].offset, static_cast<unsigned>(len),
                         slots[slot].offset);
      io_uring_sqe_set_data64(sqe, static_cast<__u64>(slot));
      ++inflight;
    }
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) throw sys_error("io_uring_submit", path, -rc);
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      int slot = static_cast<int>(io_uring_cqe_get_data64(cqe));
      Request r = slots[slot];
      free_slots.push_back(slot);
      --inflight;
      if (cqe->res < 0) {
        io_uring_cq_advance(&ring, seen);
        throw sys_error("io_uring read", path, -cqe->res);
      }
      auto got = static_cast<std::uint64_t>(cqe->res);
      if (got == 0) {
        io_uring_cq_advance(&ring, seen);
        throw std::runtime_error(path + ": file shrank while loading");
      }
      if (got < r.len) todo.push_front({r.offset + got, r.len - got});  // short read: the rest
    }
    io_uring_cq_advance(&ring, seen);
  }
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
    if (direct && e.code().value() == EINVAL)
      throw std::runtime_error(fmt::format(
          "{}: O_DIRECT read refused (EINVAL): the filesystem or device needs another alignment "
          "than {} bytes",
          path, align));
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
