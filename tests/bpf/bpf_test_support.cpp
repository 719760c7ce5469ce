#include "tests/bpf/bpf_test_support.h"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "benchmarks/perf_counters.h"
#include "bpf/tracer.h"

namespace faultline::testing {

std::optional<std::string> bpf_skip_reason() {
  return bpf::tracing_unavailable_reason();
}

WorkerChild::WorkerChild(std::function<void()> work) {
  signal(SIGPIPE, SIG_IGN);  // finish() may write to a child that was killed
  int go[2], done[2];
  if (pipe2(go, O_CLOEXEC) || pipe2(done, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    close(go[1]);
    close(done[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    try {  // never back into the test runner from a child
      work();
    } catch (...) {
      _exit(10);
    }
    if (write(done[1], "d", 1) != 1) _exit(3);
    (void)!read(go[0], &c, 1);  // released (or parent gone)
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  go_w_ = go[1];
  done_r_ = done[0];
}

WorkerChild::~WorkerChild() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (go_w_ >= 0) close(go_w_);
  if (done_r_ >= 0) close(done_r_);
}

void WorkerChild::go() {
  if (write(go_w_, "g", 1) != 1) throw std::runtime_error("cannot start child");
}

void WorkerChild::wait_done() {
  char c;
  if (read(done_r_, &c, 1) != 1) throw std::runtime_error("child died before finishing");
}

int WorkerChild::finish() {
  (void)!write(go_w_, "x", 1);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void ColdFile::evict() const {
  const int fd = open(path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path());
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

std::uint64_t ColdFile::resident_pages() const {
  const int fd = open(path().c_str(), O_RDONLY | O_CLOEXEC);
  void* p = mmap(nullptr, size(), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return 0;
  std::vector<unsigned char> vec(pages());
  std::uint64_t n = 0;
  if (mincore(p, size(), vec.data()) == 0)
    for (auto v : vec) n += v & 1;
  munmap(p, size());
  return n;
}

void touch_file_pages(const std::string& path, int advice, std::uint64_t pages) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const off_t size = lseek(fd, 0, SEEK_END);
  auto* p = static_cast<volatile const char*>(mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  close(fd);
  if (p == MAP_FAILED) _exit(4);
  if (advice >= 0) madvise(const_cast<char*>(p), size, advice);
  const std::uint64_t limit = pages ? pages * 4096 : std::uint64_t(size);
  for (std::uint64_t off = 0; off < limit && off < std::uint64_t(size); off += 4096) (void)p[off];
  munmap(const_cast<char*>(p), size);
}

void read_file(const std::string& path, std::size_t chunk, std::uint64_t bytes, bool use_pread) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) _exit(5);
  std::vector<char> buf(chunk);
  const std::uint64_t limit = bytes ? bytes : ~std::uint64_t(0);
  std::uint64_t done = 0;
  while (done < limit) {
    const std::size_t want = std::min<std::uint64_t>(chunk, limit - done);
    const ssize_t n =
        use_pread ? pread(fd, buf.data(), want, off_t(done)) : read(fd, buf.data(), want);
    if (n <= 0) break;
    done += std::uint64_t(n);
  }
  close(fd);
}

void willneed(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const off_t size = lseek(fd, 0, SEEK_END);
  for (off_t off = 0; off < size; off += 2 << 20)
    posix_fadvise(fd, off, 2 << 20, POSIX_FADV_WILLNEED);
  close(fd);
}

bpf::TraceCounters trace_child(bpf::TraceFilter filter, std::function<void()> work,
                               std::uint64_t* perf_faults) {
  WorkerChild child(std::move(work));
  filter.pids.push_back(child.pid());
  bpf::Tracer tracer(filter);
  EXPECT_TRUE(tracer.ok()) << tracer.error();
  EXPECT_TRUE(tracer.start()) << tracer.error();
  PerfCounter perf("page-faults", child.pid());
  perf.enable();
  const bpf::TraceCounters before = tracer.snapshot();
  child.go();
  child.wait_done();
  const bpf::TraceCounters delta = tracer.snapshot() - before;
  if (perf_faults) *perf_faults = perf.read().value_or(0);
  EXPECT_EQ(child.finish(), 0);
  return delta;
}

}  // namespace faultline::testing
