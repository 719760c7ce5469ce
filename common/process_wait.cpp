// Waiting for children: timeouts (SIGTERM, a grace period, SIGKILL),
// interrupts, and output capture that a daemonized grandchild cannot hang.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <system_error>
#include <thread>

#include "common/interrupt.h"
#include "common/process.h"
#include "common/unique_fd.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void fill(ExitInfo& info, int status, const rusage& ru) {
  if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) info.term_signal = WTERMSIG(status);
  info.minor_faults = std::uint64_t(ru.ru_minflt);
  info.major_faults = std::uint64_t(ru.ru_majflt);
  info.in_blocks = std::uint64_t(ru.ru_inblock);
}

// Reaps without blocking; true once reaped (info filled, untracked).
bool reap(pid_t pid, ExitInfo& info, bool* gone = nullptr) {
  int status = 0;
  rusage ru{};
  pid_t r;
  do r = ::wait4(pid, &status, WNOHANG, &ru);
  while (r < 0 && errno == EINTR);
  if (r == pid) {
    fill(info, status, ru);
    untrack_child(pid);
    return true;
  }
  if (r < 0 && gone) *gone = true;  // not our child (any more)
  return false;
}

// Ends a child that outlives its time, or the run: SIGTERM then SIGKILL
// after the grace period (or SIGKILL at once); on an interrupt SIGKILL.
class Ender {
 public:
  Ender(pid_t pid, double timeout_s, double grace_s)
      : pid_(pid), timeout_s_(timeout_s), grace_s_(grace_s) {}

  void check(ExitInfo& info) {
    if (sent_ == SIGKILL) return;
    if (interrupted()) {
      info.interrupted = true;
      send(SIGKILL, info);
      return;
    }
    const double t = seconds_since(start_);
    if (t <= timeout_s_) return;
    info.timed_out = true;
    if (sent_ == 0 && grace_s_ > 0) {
      send(SIGTERM, info);
      termed_at_ = t;
    } else if (sent_ == 0 || t - termed_at_ > grace_s_) {
      send(SIGKILL, info);
    }
  }
  // How long until check() may have something to do, in ms (for poll).
  int next_ms() const {
    if (sent_ == SIGKILL) return 100;
    const double t = seconds_since(start_);
    const double due = sent_ == SIGTERM ? termed_at_ + grace_s_ : timeout_s_;
    if (!std::isfinite(due)) return 100;
    return int(std::clamp((due - t) * 1e3 + 1, 1.0, 100.0));
  }
  bool killed() const { return sent_ != 0; }
  double elapsed() const { return seconds_since(start_); }

 private:
  void send(int sig, ExitInfo& info) {
    ::kill(pid_, sig);
    sent_ = sig;
    info.killed_with = sig;
  }
  pid_t pid_;
  double timeout_s_, grace_s_;
  Clock::time_point start_ = Clock::now();
  int sent_ = 0;
  double termed_at_ = 0;
};

}  // namespace

int ExitInfo::status_code() const {
  if (exit_code) return *exit_code;
  if (term_signal) return 128 + *term_signal;
  return 1;
}

ExitInfo wait_child(pid_t pid, const WaitOptions& o) {
  ExitInfo info;
  Ender ender(pid, o.timeout_s, o.grace_s);
  bool gone = false;
  while (!reap(pid, info, &gone) && !gone) {
    ender.check(info);
    if (o.serve && !ender.killed())
      o.serve();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(ender.killed() ? 2 : 10));
  }
  if (gone) untrack_child(pid);
  info.wall_s = ender.elapsed();
  if (interrupted()) info.interrupted = true;
  return info;
}

ExitInfo wait_child(pid_t pid, double timeout_s, const std::function<void()>& serve) {
  WaitOptions o;
  o.timeout_s = timeout_s;
  o.serve = serve;
  return wait_child(pid, o);
}

std::optional<ExitInfo> try_wait_child(pid_t pid) {
  ExitInfo info;
  bool gone = false;
  if (reap(pid, info, &gone)) return info;
  if (gone) {
    untrack_child(pid);
    return info;
  }
  return std::nullopt;
}

void kill_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  untrack_child(pid);
}

Captured capture(SpawnOptions s, const CaptureOptions& o) {
  Captured c;
  int out[2], err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || (o.capture_stderr && ::pipe2(err, O_CLOEXEC) != 0)) {
    c.error = std::system_category().message(errno);
    return c;
  }
  UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  UniqueFd devnull;
  s.stdout_fd = out_w.get();
  if (o.capture_stderr) {
    s.stderr_fd = err_w.get();
  } else if (s.stderr_fd < 0) {
    devnull.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    s.stderr_fd = devnull.get();
  }
  pid_t pid;
  try {
    pid = spawn(s);
  } catch (const std::exception& e) {
    c.error = e.what();
    return c;
  }
  c.pid = pid;
  out_w.reset();
  err_w.reset();
  devnull.reset();
  for (int fd : {out_r.get(), err_r.get()})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // The child's exit wakes poll() through a pidfd (Linux 5.3); without one,
  // poll() wakes every 10 ms to look.
  UniqueFd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
  Ender ender(pid, o.timeout_s, o.grace_s);
  struct Stream {
    UniqueFd* fd;
    std::string* text;
  } streams[2] = {{&out_r, &c.out}, {&err_r, &c.err}};
  // Reads what is there now; false when nothing was (EOF closes the stream).
  auto read_ready = [&] {
    bool got = false;
    char buf[8192];
    for (auto& st : streams) {
      while (*st.fd) {
        const ssize_t n = ::read(st.fd->get(), buf, sizeof buf);
        if (n > 0) {
          st.text->append(buf, std::size_t(n));
          got = true;
        } else if (n == 0) {
          st.fd->reset();
        } else if (errno != EINTR) {
          break;  // EAGAIN: all read for now
        }
      }
    }
    return got;
  };
  auto poll_streams = [&](int timeout_ms, bool with_pidfd) {
    pollfd p[3];
    nfds_t n = 0;
    for (auto& st : streams)
      if (*st.fd) p[n++] = {st.fd->get(), POLLIN, 0};
    if (with_pidfd && pidfd) p[n++] = {pidfd.get(), POLLIN, 0};
    return ::poll(p, n, timeout_ms);
  };
  bool exited = false, gone = false;
  while (!exited && !gone && (out_r || err_r)) {
    poll_streams(pidfd ? ender.next_ms() : 10, true);
    read_ready();
    exited = reap(pid, c.exit, &gone);
    if (!exited) ender.check(c.exit);
  }
  // The child is gone: what it wrote is in the pipes. Read it, and what
  // follows within a short grace; a grandchild holding the pipe open is not
  // waited for.
  if (exited) {
    const auto drain_start = Clock::now();
    while ((out_r || err_r) && seconds_since(drain_start) < 1.0 &&
           (read_ready() || poll_streams(20, false) > 0)) {
    }
  }
  out_r.reset();
  err_r.reset();
  if (!exited && !gone) {
    // Both pipes closed before it exited: wait for the rest of its time.
    WaitOptions w;
    w.timeout_s = std::max(0.0, o.timeout_s - ender.elapsed());
    w.grace_s = o.grace_s;
    const ExitInfo rest = wait_child(pid, w);
    const bool timed_out = c.exit.timed_out || rest.timed_out;
    const int killed_with = rest.killed_with ? rest.killed_with : c.exit.killed_with;
    c.exit = rest;
    c.exit.timed_out = timed_out;
    c.exit.killed_with = killed_with;
  } else if (gone) {
    untrack_child(pid);
  }
  c.exit.wall_s = ender.elapsed();
  if (interrupted()) c.exit.interrupted = true;
  return c;
}

std::optional<std::string> capture_output(const std::vector<std::string>& argv, double timeout_s,
                                          const Credentials* as_user,
                                          const std::vector<std::string>& cgroup_procs) {
  if (argv.empty()) return std::nullopt;
  SpawnOptions s;
  s.argv = argv;
  s.cgroup_procs = cgroup_procs;
  s.as_user = as_user;
  CaptureOptions o;
  o.timeout_s = timeout_s;
  Captured c = capture(std::move(s), o);
  if (!c.ok()) return std::nullopt;
  return std::move(c.out);
}

}  // namespace faultline
