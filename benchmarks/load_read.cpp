// read and pread: the file copied into one anonymous heap buffer with
// read(2) in chunks, or with N threads each pread(2)ing its own range; and
// read:tensors, one lseek(2)+read(2) per tensor as llama.cpp --no-mmap does.
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "benchmarks/loaders.h"
#include "benchmarks/tensor_plan.h"
#include "common/size.h"
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

// read() until `len` bytes are at `dst`; counts the calls. Throws on EOF.
void read_fully(int fd, const std::string& path, std::uint8_t* dst, std::uint64_t len,
                std::uint64_t& calls) {
  std::uint64_t done = 0;
  while (done < len) {
    ssize_t n = ::read(fd, dst + done, static_cast<std::size_t>(len - done));
    ++calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read", path);
    }
    if (n == 0) throw std::runtime_error(path + ": file shrank while loading");
    done += static_cast<std::uint64_t>(n);
  }
}

void seek_to(int fd, const std::string& path, std::uint64_t off) {
  if (::lseek(fd, static_cast<off_t>(off), SEEK_SET) < 0) throw sys_error("lseek", path);
}

// llama.cpp --no-mmap (llama_model_loader::load_all_data): per tensor
// llama_file::seek (fseek) and read_raw (fread) of the tensor's bytes, into
// the backend buffer that holds it. Here that buffer is one file-sized heap
// allocation with each tensor at its file offset (so the access patterns find
// it where they look); the bytes between tensors are never read.
//   exact: lseek(offset) + read(bytes): one read() per tensor.
//   stdio: what glibc makes of fseek+fread with its 4 KiB (st_blksize) buffer,
//   as strace shows for node-llama-cpp: lseek to the tensor's 4 KiB block,
//   read() of the bytes of that block before the tensor (into the stdio
//   buffer), read() of the tensor's whole 4 KiB multiples straight into the
//   destination, and a read() of one 4 KiB block for the rest.
// direct:tensors (llama_file::read_aligned_chunk): lseek to the tensor's
// aligned start, one O_DIRECT read() of its aligned span into a bounce buffer
// allocated for it (posix_memalign), then the tensor's bytes copied out.
void read_direct(int fd, const std::string& path, const Tensor& t, std::uint64_t size,
                 std::uint8_t* dst, std::uint64_t& calls) {
  constexpr std::uint64_t kAlign = 4096;
  const std::uint64_t begin = t.offset / kAlign * kAlign;
  const std::uint64_t span = (t.offset - begin + t.bytes + kAlign - 1) / kAlign * kAlign;
  void* raw = nullptr;
  if (int rc = ::posix_memalign(&raw, kAlign, span); rc != 0)
    throw std::system_error(rc, std::generic_category(), path + ": bounce buffer");
  std::unique_ptr<std::uint8_t, FreeDeleter> bounce(static_cast<std::uint8_t*>(raw));
  seek_to(fd, path, begin);
  std::uint64_t done = 0, want = std::min(span, (size - begin + kAlign - 1) / kAlign * kAlign);
  while (done < t.offset - begin + t.bytes) {
    ssize_t n = ::read(fd, bounce.get() + done, static_cast<std::size_t>(want - done));
    ++calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read (O_DIRECT)", path);
    }
    if (n == 0) throw std::runtime_error(path + ": file shrank while loading");
    done += static_cast<std::uint64_t>(n);
  }
  std::memcpy(dst + t.offset, bounce.get() + (t.offset - begin), t.bytes);
}

// mlock after read:tensors (llama.cpp --load-mode mlock: llama_mlock::grow_to
// over each host buffer, src/llama-model.cpp): the pages of the tensors that
// are not repacked (the repack/AMX buffers are not host buffers). Soft: the
// first failure warns, unlocks what was locked and the load goes on.
void lock_host_tensors(Mapping& m, const ModelLayout& layout, MlockMode mode,
                       const std::string& path) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pages;
  for (const Tensor* t : creation_order(layout)) {
    if (repack_selected(*t)) continue;
    std::uint64_t b = t->offset / 4096 * 4096, e = (t->offset + t->bytes + 4095) / 4096 * 4096;
    pages.emplace_back(b, std::min<std::uint64_t>(e, (m.size() + 4095) / 4096 * 4096));
  }
  std::sort(pages.begin(), pages.end());
  std::uint64_t locked_to = 0, locked = 0;
  for (auto [b, e] : pages) {
    b = std::max(b, locked_to);
    if (e <= b) continue;
    if (::mlock(m.data() + b, e - b) != 0) {
      int err = errno;
      std::string what = fmt::format(
          "{}: mlock of the host tensors failed after {} ({}); "
          "RLIMIT_MEMLOCK is {}",
          path, format_size(locked), std::strerror(err), memlock_limit_text());
      if (mode == MlockMode::kHard) throw std::runtime_error(what + "; raise it (ulimit -l)");
      ::munlock(m.data(), m.size());
      m.add_warning(what + ": try ulimit -l; continuing unlocked (mlock=soft, as llama.cpp does)");
      return;
    }
    locked += e - b;
    locked_to = e;
  }
  m.set_locked(true);
}

Mapping load_tensors(const std::string& path, const Strategy& s, const ModelLayout* layout) {
  ModelLayout own;
  if (!layout) {
    own = load_layout(path);
    layout = &own;
  }
  TensorReads how = *s.tensors;
  bool direct = s.method == LoadMethod::kDirect;
  std::string fell_back;
  UniqueFd fd;
  if (direct) {
    int raw = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (raw < 0 && errno == EINVAL && s.fallback == DirectFallback::kBuffered) {
      // llama_file: "Falling back to buffered I/O" (fopen, so fread's syscalls).
      direct = false;
      how = TensorReads::kStdio;
      fell_back = path +
                  ": the filesystem refuses O_DIRECT; fell back to buffered reads "
                  "(fallback=buffered, as llama.cpp does)";
    } else if (raw < 0 && errno == EINVAL) {
      throw std::runtime_error(path +
                               ": the filesystem refuses O_DIRECT (open: EINVAL); use "
                               "read:tensors here, or direct:tensors,fallback=buffered");
    } else if (raw < 0) {
      throw sys_error("open", path);
    }
    if (raw >= 0) fd = UniqueFd(raw);
  }
  if (!fd) fd = open_or_throw(path, O_RDONLY);
  std::uint64_t size = file_size_of(fd.get(), path);
  if (size != layout->file_size)
    throw std::runtime_error(path + ": the file changed size since its layout was read");
  HeapBuffer buf = allocate(size, path);
  constexpr std::uint64_t kBlock = 4096;
  std::vector<std::uint8_t> stdio_buf(kBlock);
  std::uint64_t calls = 0;
  for (const Tensor* t : no_mmap_read_order(*layout)) {
    if (t->offset + t->bytes > size)
      throw std::runtime_error(path + ": tensor " + t->name + " ends past the end of the file");
    if (direct) {
      read_direct(fd.get(), path, *t, size, buf.get(), calls);
      continue;
    }
    if (how == TensorReads::kExact) {
      seek_to(fd.get(), path, t->offset);
      read_fully(fd.get(), path, buf.get() + t->offset, t->bytes, calls);
      continue;
    }
    const std::uint64_t block = t->offset / kBlock * kBlock;
    const std::uint64_t delta = t->offset - block;
    seek_to(fd.get(), path, block);
    if (delta) read_fully(fd.get(), path, stdio_buf.data(), delta, calls);
    const std::uint64_t whole = t->bytes / kBlock * kBlock;
    read_fully(fd.get(), path, buf.get() + t->offset, whole, calls);
    const std::uint64_t tail = t->bytes - whole;
    if (tail == 0) continue;
    const std::uint64_t want = std::min(kBlock, size - (t->offset + whole));
    read_fully(fd.get(), path, stdio_buf.data(), want, calls);
    std::memcpy(buf.get() + t->offset + whole, stdio_buf.data(), tail);
  }
  Mapping m = Mapping::from_heap(buf.release(), size, false);
  m.set_read_calls(calls);
  if (!fell_back.empty()) m.add_warning(fell_back);
  if (s.mlock) lock_host_tensors(m, *layout, *s.mlock, path);
  return m;
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
