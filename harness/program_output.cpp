#include "harness/program_output.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace faultline::harness {
namespace {
constexpr std::size_t kTailLines = 5;
constexpr std::size_t kMaxLine = 1 << 16;  // a longer "line" is cut (and still matched)
}  // namespace

ProgramOutput::ProgramOutput(int stdout_fd, int stderr_fd, int log_fd,
                             const std::optional<std::string>& ready)
    : out_(stdout_fd), err_(stderr_fd), log_(log_fd) {
  for (int fd : {out_, err_})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (ready) ready_re_.emplace(*ready, std::regex::ECMAScript);
}

ProgramOutput::~ProgramOutput() {
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

void ProgramOutput::line(const std::string& text, bool is_stdout) {
  if (is_stdout) {
    if (!ready_ && ready_re_ && std::regex_search(text, *ready_re_)) ready_ = true;
    return;
  }
  if (text.empty()) return;
  err_tail_.push_back(text);
  if (err_tail_.size() > kTailLines) err_tail_.pop_front();
}

void ProgramOutput::read_from(int& fd, std::string& partial, bool is_stdout) {
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: nothing more now
    if (n == 0) {       // closed
      if (!partial.empty()) line(partial, is_stdout);
      partial.clear();
      ::close(fd);
      fd = -1;
      return;
    }
    if (log_ >= 0) (void)!::write(log_, buf, std::size_t(n));
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        line(partial, is_stdout);
        partial.clear();
      } else if (partial.size() < kMaxLine) {
        partial += buf[i];
      }
    }
  }
}

bool ProgramOutput::pump(int timeout_ms, int also_fd) {
  pollfd p[3];
  int n = 0;
  if (out_ >= 0) p[n++] = {out_, POLLIN, 0};
  if (err_ >= 0) p[n++] = {err_, POLLIN, 0};
  const int also = n;
  if (also_fd >= 0) p[n++] = {also_fd, POLLIN, 0};
  if (n == 0) {
    ::usleep(useconds_t(timeout_ms) * 1000);
    return false;
  }
  if (::poll(p, nfds_t(n), timeout_ms) <= 0) return false;
  if (out_ >= 0) read_from(out_, out_partial_, true);
  if (err_ >= 0) read_from(err_, err_partial_, false);
  return also_fd >= 0 && (p[also].revents & (POLLIN | POLLHUP)) != 0;
}

void ProgramOutput::drain() {
  // Whatever the exited program left in the pipes; a grandchild that keeps
  // them open cannot hold this up (no waiting beyond one short poll).
  pump(20);
  if (out_ >= 0) read_from(out_, out_partial_, true);
  if (err_ >= 0) read_from(err_, err_partial_, false);
}

std::string ProgramOutput::stderr_tail() const {
  std::string s;
  for (const auto& l : err_tail_) s += (s.empty() ? "" : " | ") + l;
  return s;
}

}  // namespace faultline::harness
