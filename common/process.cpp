// Starting children: what the child does between fork and exec (or a check
// instead of exec), and how the parent learns what failed there.
#include "common/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/cgroup.h"
#include "common/credentials.h"
#include "common/interrupt.h"

extern char** environ;

namespace faultline {
namespace {

// What the child reports through its error pipe: a step and an errno.
enum Step : int { kHeld = 0, kCgroup, kCredentials, kDescriptors, kExec };
struct Record {
  int step = 0;
  int error = 0;
};

// Everything the child needs, prepared before fork: between fork and exec
// only async-signal-safe calls, no allocation.
struct ChildPlan {
  std::vector<char*> argv, envp;
  bool has_env = false;
  const std::vector<std::string>* cgroups = nullptr;
  const Credentials* user = nullptr;
  bool ipc_lock = false;
  bool die_with_parent = true;
  bool own_group = true;
  pid_t parent = 0;
  // Descriptors: sources[i] becomes targets[i]; staged[i] is scratch.
  std::vector<int> sources, targets, staged;
  // Closed at exec: every range of numbers no target uses, from 3 up.
  std::vector<std::pair<unsigned, unsigned>> cloexec_ranges;
  int high = 3;  // first number above every target
  unsigned fd_limit = 1024;
};

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void plan_descriptors(ChildPlan& p, const SpawnOptions& o, int devnull) {
  auto add = [&](int source, int target) {
    p.sources.push_back(source);
    p.targets.push_back(target);
  };
  if (o.stdin_fd != SpawnOptions::kInherit) add(o.stdin_fd >= 0 ? o.stdin_fd : devnull, 0);
  if (o.stdout_fd >= 0) add(o.stdout_fd, 1);
  if (o.stderr_fd >= 0) add(o.stderr_fd, 2);
  std::vector<int> extra;
  for (const auto& [source, target] : o.fds) {
    if (target < 3) throw std::invalid_argument("spawn: extra descriptors go to 3 and above");
    add(source, target);
    extra.push_back(target);
  }
  p.staged.assign(p.sources.size(), -1);
  std::sort(extra.begin(), extra.end());
  unsigned from = 3;
  for (int t : extra) {
    if (unsigned(t) > from) p.cloexec_ranges.emplace_back(from, unsigned(t) - 1);
    from = std::max(from, unsigned(t) + 1);
  }
  p.cloexec_ranges.emplace_back(from, ~0u);
  for (int t : p.targets) p.high = std::max(p.high, t + 1);
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
    p.fd_limit = unsigned(std::min<rlim_t>(lim.rlim_cur, 1u << 20));
}

void report(int fd, int step, int error) {
  const Record r{step, error};
  (void)!::write(fd, &r, sizeof r);
}

[[noreturn]] void fail(int fd, int step) {
  report(fd, step, errno);
  ::_exit(126);
}

// The child, from fork to exec (or to `check`'s _exit).
[[noreturn]] void run_child(ChildPlan& p, int error_fd, int go_fd,
                            const std::function<int()>* check) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) ::sigaction(sig, &dfl, nullptr);
  if (p.own_group) ::setpgid(0, 0);
  // Out of the way of every target number first.
  const bool hold = go_fd >= 0;
  if ((error_fd = ::fcntl(error_fd, F_DUPFD_CLOEXEC, p.high)) < 0) ::_exit(126);
  if (hold && (go_fd = ::fcntl(go_fd, F_DUPFD_CLOEXEC, p.high)) < 0) fail(error_fd, kDescriptors);
  for (std::size_t i = 0; i < p.sources.size(); ++i)
    if ((p.staged[i] = ::fcntl(p.sources[i], F_DUPFD_CLOEXEC, p.high)) < 0)
      fail(error_fd, kDescriptors);
  // The forking thread may be acting with the invoking user's file rights
  // (FsIds); the cgroup files are root's, and a root child stays root.
  if (::geteuid() == 0) {
    ::setfsgid(0);
    ::setfsuid(0);
  }
  if (p.cgroups && !join_cgroups_in_child(*p.cgroups)) fail(error_fd, kCgroup);
  if (p.user && !become(*p.user, p.ipc_lock)) fail(error_fd, kCredentials);
  // After become(): a change of credentials clears the death signal.
  if (p.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != p.parent) ::_exit(125);  // the parent died before prctl
  }
  if (check) ::_exit((*check)() & 0xff);
  if (hold) {
    report(error_fd, kHeld, 0);
    char c;
    ssize_t n;
    while ((n = ::read(go_fd, &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) ::_exit(125);  // given up before release
  }
  for (std::size_t i = 0; i < p.staged.size(); ++i)
    if (::dup2(p.staged[i], p.targets[i]) < 0) fail(error_fd, kDescriptors);
  for (const auto& [first, last] : p.cloexec_ranges)
    if (::close_range(first, last, CLOSE_RANGE_CLOEXEC) != 0)  // Linux 5.11
      for (unsigned fd = first; fd <= last && fd < p.fd_limit; ++fd)
        ::fcntl(int(fd), F_SETFD, FD_CLOEXEC);
  if (p.has_env)
    ::execve(p.argv[0], p.argv.data(), p.envp.data());
  else
    ::execv(p.argv[0], p.argv.data());
  fail(error_fd, kExec);
}

SpawnError spawn_error(const std::string& program, const Credentials* user, const Record& r) {
  const char* why = std::strerror(r.error);
  switch (r.step) {
    case kCgroup:
      return {fmt::format("cannot move {} into its cgroup: {}", program, why),
              SpawnError::Step::cgroup, r.error};
    case kCredentials:
      return {fmt::format("cannot run {} as {}: {}", program, user ? user->describe() : "?", why),
              SpawnError::Step::credentials, r.error};
    case kDescriptors:
      return {fmt::format("cannot pass descriptors to {}: {}", program, why),
              SpawnError::Step::descriptors, r.error};
    default:
      return {fmt::format("cannot run {}: {}", program, why), SpawnError::Step::exec, r.error};
  }
}

// Reads one record: true with it, false at end of file (the exec happened,
// or the child died without a word).
bool read_record(int fd, Record& r) {
  ssize_t n;
  do n = ::read(fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  return n == ssize_t(sizeof r);
}

struct Started {
  pid_t pid = -1;
  int go_fd = -1, error_fd = -1;
  std::string program;  // the executable's path
};

// Forks a child that runs `plan` (held when `hold`, running `check` when given).
Started start(const SpawnOptions& o, bool hold, const std::function<int()>* check) {
  ChildPlan p;
  std::vector<std::string> args = o.argv;
  if (!check) {
    if (args.empty()) throw std::invalid_argument("spawn: empty argv");
    const std::string found = find_program(args[0]);
    if (found.empty())
      throw SpawnError(fmt::format("cannot run {}: not found or not executable", args[0]),
                       SpawnError::Step::lookup, ENOENT);
    args[0] = found;
  }
  p.argv = check ? std::vector<char*>{} : pointers(args);
  std::vector<std::string> env = o.env.value_or(std::vector<std::string>{});
  p.has_env = o.env.has_value();
  if (p.has_env) p.envp = pointers(env);
  p.cgroups = &o.cgroup_procs;
  p.user = o.as_user;
  p.ipc_lock = o.as_user && o.keep_ipc_lock && o.as_user->ipc_lock;
  p.die_with_parent = o.die_with_parent;
  p.own_group = o.own_process_group;
  p.parent = ::getpid();
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!check) plan_descriptors(p, o, devnull);
  int err[2], go[2] = {-1, -1};
  if (::pipe2(err, O_CLOEXEC) != 0 || (hold && ::pipe2(go, O_CLOEXEC) != 0)) {
    const int e = errno;
    if (devnull >= 0) ::close(devnull);
    throw std::system_error(e, std::generic_category(), "pipe");
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (hold) ::close(go[1]);
    run_child(p, err[1], hold ? go[0] : -1, check);
  }
  const int fork_errno = errno;
  ::close(err[1]);
  if (hold) ::close(go[0]);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) {
    ::close(err[0]);
    if (hold) ::close(go[1]);
    throw std::system_error(fork_errno, std::generic_category(), "fork");
  }
  if (o.track) track_child(pid);
  if (o.own_process_group) ::setpgid(pid, pid);
  return {pid, hold ? go[1] : -1, err[0], args.empty() ? "" : args[0]};
}

}  // namespace

pid_t spawn(const SpawnOptions& o) {
  const Started s = start(o, false, nullptr);
  Record r;
  const bool failed = read_record(s.error_fd, r);
  ::close(s.error_fd);
  if (failed) {
    kill_child(s.pid);
    throw spawn_error(s.program, o.as_user, r);
  }
  return s.pid;
}

HeldChild spawn_held(const SpawnOptions& o) {
  const Started s = start(o, true, nullptr);
  HeldChild h;
  h.pid_ = s.pid;
  h.go_fd_ = s.go_fd;
  h.error_fd_ = s.error_fd;
  h.program_ = s.program;
  Record r;
  if (!read_record(s.error_fd, r)) r = {kExec, ECHILD};  // died before it was held
  if (r.step != kHeld) {
    h.abandon();
    throw spawn_error(h.program_, o.as_user, r);
  }
  return h;
}

HeldChild::HeldChild(HeldChild&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      go_fd_(std::exchange(o.go_fd_, -1)),
      error_fd_(std::exchange(o.error_fd_, -1)),
      program_(std::move(o.program_)) {}

HeldChild& HeldChild::operator=(HeldChild&& o) noexcept {
  if (this != &o) {
    abandon();
    pid_ = std::exchange(o.pid_, -1);
    go_fd_ = std::exchange(o.go_fd_, -1);
    error_fd_ = std::exchange(o.error_fd_, -1);
    program_ = std::move(o.program_);
  }
  return *this;
}

HeldChild::~HeldChild() {
  abandon();
}

void HeldChild::release() {
  if (go_fd_ < 0) return;
  (void)!::write(go_fd_, "g", 1);
  ::close(go_fd_);
  go_fd_ = -1;
  Record r;
  const bool failed = read_record(error_fd_, r);
  ::close(error_fd_);
  error_fd_ = -1;
  if (failed) {
    kill_child(pid_);
    pid_ = -1;
    throw spawn_error(program_, nullptr, r);
  }
}

void HeldChild::abandon() {
  const bool still_held = go_fd_ >= 0;
  if (go_fd_ >= 0) ::close(go_fd_);  // the child exits without running anything
  if (error_fd_ >= 0) ::close(error_fd_);
  go_fd_ = error_fd_ = -1;
  if (still_held && pid_ > 0) {
    kill_child(pid_);
    pid_ = -1;
  }
}

int call_in_child(const std::function<int()>& check, const Credentials* as_user) {
  SpawnOptions o;
  o.as_user = as_user;
  o.keep_ipc_lock = false;
  o.own_process_group = false;
  const Started s = start(o, false, &check);
  Record r;
  const bool failed = read_record(s.error_fd, r);
  ::close(s.error_fd);
  if (failed) {
    kill_child(s.pid);
    throw SpawnError(fmt::format("cannot take the credentials of {}: {}",
                                 as_user ? as_user->describe() : "?", std::strerror(r.error)),
                     SpawnError::Step::credentials, r.error);
  }
  const ExitInfo e = wait_child(s.pid, WaitOptions{});
  return e.exit_code.value_or(-1);
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? end : end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

std::string sibling_executable(const std::string& name, const char* env_var) {
  if (const char* e = std::getenv(env_var); e && *e) return e;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path() / name).string();
}

}  // namespace faultline
