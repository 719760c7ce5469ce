// load_ranges(): given ranges of a file read with read, pread, O_DIRECT or
// io_uring into one buffer, one thread per stream (load_ranges.h).
#include "benchmarks/load_ranges.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <exception>
#include <latch>
#include <map>
#include <stdexcept>
#include <thread>

#include "benchmarks/loaders.h"
#include "benchmarks/stream_order.h"
#include "common/unique_fd.h"

namespace faultline {
namespace {

using detail::OrderSlot;
using detail::ReadRequest;

void sleep_ns(std::uint64_t ns) {
  if (ns) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

// The requests of one stream: each range clipped to the file, rounded out to
// `align`, cut into chunk-sized requests; a range past the end of the file is
// one empty request (its gap, its place in the order).
std::vector<ReadRequest> requests_of(const RangeStream& st, std::uint64_t size, std::uint64_t chunk,
                                     std::uint64_t align, bool gaps) {
  std::vector<ReadRequest> out;
  for (std::size_t i = 0; i < st.ranges.size(); ++i) {
    const Range& r = st.ranges[i];
    std::uint64_t gap = 0;
    if (gaps && i > 0 && i < st.t_ns.size()) gap = st.t_ns[i] - st.t_ns[i - 1];
    const std::uint32_t file = i < st.files.size() ? st.files[i] : 0;
    if (r.offset >= size || r.bytes == 0) {
      out.push_back({0, 0, gap, file, i, true});
      continue;
    }
    std::uint64_t begin = r.offset / align * align;
    std::uint64_t end = std::min(size, r.offset + r.bytes);
    for (std::uint64_t off = begin; off < end; off += chunk) {
      out.push_back({off, std::min(chunk, end - off), gap, file, i, off == begin});
      gap = 0;
    }
  }
  return out;
}

// Before request q of a synchronous thread: at the first request of a
// range, the ranges before it are done (said before the gap, so no other
// thread waits through it); then the recorded gap; then the range's turn.
void enter(const OrderSlot& o, const ReadRequest& q) {
  if (o.order && q.first) o.order->done(o.stream, q.range);
  sleep_ns(q.sleep_ns);
  if (o.order && q.first) o.order->wait(o.stream, q.range);
}
void leave(const OrderSlot& o, const std::vector<ReadRequest>& reqs) {
  if (o.order && !reqs.empty()) o.order->done(o.stream, reqs.back().range + 1);
}

// A thread's descriptors: `first` for requests of file 0, one more opened
// at the first request of each other file value.
class Descriptors {
 public:
  Descriptors(int first, const std::string& path) : first_(first), path_(path) {}
  int of(std::uint32_t file) {
    if (file == 0) return first_;
    auto it = own_.find(file);
    if (it == own_.end()) it = own_.emplace(file, open_or_throw(path_, O_RDONLY)).first;
    return it->second.get();
  }

 private:
  int first_;
  const std::string& path_;
  std::map<std::uint32_t, UniqueFd> own_;
};

std::vector<ReadRequest> strip_files(std::vector<ReadRequest> reqs) {
  for (auto& q : reqs) q.file = 0;
  return reqs;
}

void read_requests(Descriptors& fds, const std::string& path, std::uint8_t* buf,
                   const std::vector<ReadRequest>& reqs, const OrderSlot& order) {
  for (const ReadRequest& q : reqs) {
    enter(order, q);
    if (q.len == 0) continue;
    const int fd = fds.of(q.file);
    if (::lseek(fd, static_cast<off_t>(q.offset), SEEK_SET) < 0) throw sys_error("lseek", path);
    std::uint64_t done = 0;
    while (done < q.len) {
      ssize_t n = ::read(fd, buf + q.offset + done, static_cast<std::size_t>(q.len - done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sys_error("read", path);
      if (n == 0) throw std::runtime_error(path + ": file shrank while loading");
      done += static_cast<std::uint64_t>(n);
    }
  }
  leave(order, reqs);
}

void pread_requests(Descriptors& fds, const std::string& path, std::uint8_t* buf,
                    const std::vector<ReadRequest>& reqs, std::uint64_t align,
                    const OrderSlot& order) {
  for (const ReadRequest& q : reqs) {
    enter(order, q);
    if (q.len)
      detail::pread_range(fds.of(q.file), path, buf, q.offset, q.offset + q.len, q.len, align);
  }
  leave(order, reqs);
}

}  // namespace

void run_streams(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 1) return fn(0);
  std::latch start(1);
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> pool;
  pool.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    pool.emplace_back([&, i] {
      start.wait();
      try {
        fn(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  start.count_down();
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void detail::uring_read_requests(int fd, const std::string& path, std::uint8_t* buf,
                                 std::uint64_t size, const std::vector<ReadRequest>& reqs, int qd,
                                 std::uint64_t align, OrderSlot order) {
  io_uring ring;
  int rc = io_uring_queue_init(static_cast<unsigned>(qd), &ring, 0);
  if (rc < 0) throw sys_error("io_uring_queue_init", path, -rc);
  struct RingGuard {
    io_uring* r;
    ~RingGuard() { io_uring_queue_exit(r); }
  } guard{&ring};
  std::deque<ReadRequest> todo(reqs.begin(), reqs.end());
  // With an order: requests not yet complete per range, and how many ranges
  // (a prefix) are complete.
  std::vector<std::uint32_t> left;
  std::size_t complete = 0;
  if (order.order)
    for (const ReadRequest& q : reqs) {
      if (q.range >= left.size()) left.resize(q.range + 1, 0);
      ++left[q.range];
    }
  auto finished = [&](const ReadRequest& q) {
    if (!order.order) return;
    --left[q.range];
    while (complete < left.size() && left[complete] == 0) ++complete;
    order.order->done(order.stream, complete);
  };
  std::vector<ReadRequest> slots(static_cast<std::size_t>(qd));
  std::vector<int> free_slots;
  for (int i = qd - 1; i >= 0; --i) free_slots.push_back(i);
  int inflight = 0;
  // Takes every completion there is (without waiting): a short read
  // resubmits the rest first.
  auto reap = [&] {
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      int slot = static_cast<int>(io_uring_cqe_get_data64(cqe));
      ReadRequest r = slots[slot];
      free_slots.push_back(slot);
      --inflight;
      if (cqe->res < 0) {
        io_uring_cq_advance(&ring, seen);
        throw sys_error("io_uring read", path, -cqe->res);
      }
      auto got = static_cast<std::uint64_t>(cqe->res);
      if (got == 0 && r.offset < size) {
        io_uring_cq_advance(&ring, seen);
        throw std::runtime_error(path + ": file shrank while loading");
      }
      if (got < r.len && r.offset + got < size) {
        todo.push_front({r.offset + got, r.len - got, 0, r.file, r.range, false});  // the rest
        if (order.order) ++left[r.range];
      }
      finished(r);
    }
    io_uring_cq_advance(&ring, seen);
  };
  while (!todo.empty() || inflight > 0) {
    while (!todo.empty() && !free_slots.empty()) {
      // A gap waits for nothing in flight (the recorded program did not
      // either), but what is prepared goes to the kernel first, and what
      // completed is said done, so no other thread waits through the gap.
      if (const std::uint64_t gap = std::exchange(todo.front().sleep_ns, 0)) {
        if (inflight > 0) {
          rc = io_uring_submit(&ring);
          if (rc < 0 && rc != -EINTR) throw sys_error("io_uring_submit", path, -rc);
          reap();
        }
        sleep_ns(gap);
        if (todo.empty() || free_slots.empty()) break;
      }
      if (order.order && todo.front().first &&
          !order.order->may_start(order.stream, todo.front().range)) {
        if (inflight > 0) break;  // reap first: another stream may wait for those
        order.order->wait(order.stream, todo.front().range);
      }
      if (todo.front().len == 0) {
        finished(todo.front());
        todo.pop_front();
        continue;
      }
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
    if (inflight == 0) continue;
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR) throw sys_error("io_uring_submit", path, -rc);
    reap();
  }
}

bool reads_into_buffer(const Strategy& s) {
  return s.method != LoadMethod::kMmap;
}

Mapping load_ranges(const std::string& path, const Strategy& s,
                    const std::vector<RangeStream>& streams, bool gaps) {
  if (!reads_into_buffer(s))
    throw std::logic_error("load_ranges: " + to_string(s) + " maps the file, it does not read it");
  const bool direct = s.method == LoadMethod::kDirect;
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  if (raw < 0 && direct && errno == EINVAL) {
    if (s.fallback != DirectFallback::kBuffered)
      throw std::runtime_error(fmt::format(
          "{}: the filesystem refuses O_DIRECT (open: EINVAL); use read, pread or uring here, "
          "or direct:fallback=buffered",
          path));
    Strategy buffered;
    buffered.method = LoadMethod::kRead;
    Mapping m = load_ranges(path, buffered, streams, gaps);
    m.add_warning(path +
                  ": the filesystem refuses O_DIRECT; fell back to buffered read() "
                  "(fallback=buffered, as llama.cpp does)");
    return m;
  }
  if (raw < 0) throw sys_error("open", path);
  UniqueFd fd(raw);
  const std::uint64_t size = detail::file_size_of(fd.get(), path);
  std::uint64_t align = 1;
  if (direct) {
    struct stat st {};
    ::fstat(fd.get(), &st);
    align = std::max<std::uint64_t>(4096, static_cast<std::uint64_t>(st.st_blksize));
  }
  // Each range is one request of its own size, as the program made it (a
  // 4 MiB + 4 B read cut into 4 MiB and 4 B starts another readahead window
  // at 4 MiB): chunk= only when the spec sets it; else at most 1 GiB.
  const std::uint64_t limit = s.chunk ? *s.chunk : (1ull << 30);
  const std::uint64_t chunk = std::max<std::uint64_t>(align, limit / align * align);
  const std::uint64_t alloc = (size + align - 1) / align * align;
  void* p = nullptr;
  if (::posix_memalign(&p, std::max<std::uint64_t>(align, 4096), alloc) != 0)
    throw std::runtime_error(path + ": cannot allocate a buffer for the whole file");
  Mapping out = Mapping::from_heap(static_cast<std::uint8_t*>(p), size, true);
  auto* buf = static_cast<std::uint8_t*>(p);

  std::vector<std::vector<ReadRequest>> reqs;
  for (const auto& st : streams) reqs.push_back(requests_of(st, size, chunk, align, gaps));
  const int qd = s.queue_depth();
  try {
    StreamOrder order(streams);
    run_streams(streams.size(), [&](std::size_t i) {
      const OrderSlot slot{order.active() ? &order : nullptr, i};
      try {
        if (s.method == LoadMethod::kRead) {
          // Each thread its own file position.
          UniqueFd own = i == 0 ? UniqueFd() : open_or_throw(path, O_RDONLY);
          Descriptors fds(i == 0 ? fd.get() : own.get(), path);
          read_requests(fds, path, buf, reqs[i], slot);
        } else if (s.method == LoadMethod::kPread || qd <= 1) {
          // direct with qd 1 keeps its one O_DIRECT descriptor.
          Descriptors fds(fd.get(), path);
          if (s.method == LoadMethod::kPread)
            pread_requests(fds, path, buf, reqs[i], align, slot);
          else
            pread_requests(fds, path, buf, strip_files(reqs[i]), align, slot);
        } else {
          detail::uring_read_requests(fd.get(), path, buf, size, reqs[i], qd, align, slot);
        }
      } catch (const StreamOrder::Aborted&) {
        // Another stream failed; its error is the one reported.
      } catch (...) {
        order.abort();
        throw;
      }
    });
  } catch (const std::system_error& e) {
    if (direct && e.code().value() == EINVAL) throw detail::direct_alignment_error(path, align);
    throw;
  }
  return out;
}

}  // namespace faultline
