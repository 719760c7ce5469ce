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
    work();
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

}  // namespace faultline::testing
