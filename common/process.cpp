#include "common/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "common/cgroup.h"
#include "common/credentials.h"
#include "common/interrupt.h"

namespace faultline {

pid_t spawn(const SpawnOptions& o) {
  if (o.argv.empty()) throw std::invalid_argument("spawn: empty argv");
  if (o.fds.size() > 8) throw std::invalid_argument("spawn: at most 8 extra descriptors");
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe");
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    if (devnull >= 0) ::close(devnull);
    throw std::system_error(e, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGPIPE, &dfl, nullptr);
    int code[2] = {0, 0};
    // The forking thread may be acting with the invoking user's file rights
    // (FsIds); the cgroup files are root's, and a root child stays root.
    if (::geteuid() == 0) {
      ::setfsgid(0);
      ::setfsuid(0);
    }
    if (!join_cgroups_in_child(o.cgroup_procs)) {
      code[0] = 1;
      code[1] = errno;
      (void)!::write(err_pipe[1], code, sizeof code);
      ::_exit(126);
    }
    if (o.as_user) {
      if (!become(*o.as_user, o.as_user->ipc_lock)) {
        code[0] = 3;
        code[1] = errno;
        (void)!::write(err_pipe[1], code, sizeof code);
        ::_exit(126);
      }
    }
    // Dies with the harness: a SIGKILLed harness cannot kill its children, and
    // an orphaned faultline-bench would go on writing into the run folder.
    // After become(): a change of credentials clears the death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);  // the harness died before prctl
    int in = o.stdin_fd >= 0 ? o.stdin_fd : devnull;
    if (in >= 0) ::dup2(in, 0);
    if (o.stdout_fd >= 0) ::dup2(o.stdout_fd, 1);
    if (o.stderr_fd >= 0) ::dup2(o.stderr_fd, 2);
    // Extra descriptors: first out of the way of every target number (and after stdio), then
    // into place (dup2 clears close-on-exec on the copy).
    int staged[8];
    const std::size_t nfds = std::min<std::size_t>(o.fds.size(), 8);
    for (std::size_t i = 0; i < nfds; ++i) staged[i] = ::fcntl(o.fds[i].first, F_DUPFD_CLOEXEC, 64);
    int lowest_unpassed = 3;
    for (std::size_t i = 0; i < nfds; ++i) {
      ::dup2(staged[i], o.fds[i].second);
      lowest_unpassed = std::max(lowest_unpassed, o.fds[i].second + 1);
    }
    // Whatever else this process inherited and did not mark close-on-exec
    // (from a parent shell, say) is not the child's business: closed at exec
    // (CLOSE_RANGE_CLOEXEC, Linux 5.11; older kernels leave them).
    ::close_range(unsigned(lowest_unpassed), ~0u, CLOSE_RANGE_CLOEXEC);
    ::execv(argv[0], argv.data());
    code[0] = 2;
    code[1] = errno;
    (void)!::write(err_pipe[1], code, sizeof code);
    ::_exit(127);
  }
  track_child(pid);
  ::setpgid(pid, pid);
  ::close(err_pipe[1]);
  if (devnull >= 0) ::close(devnull);
  int code[2] = {0, 0};
  ssize_t n;
  do n = ::read(err_pipe[0], code, sizeof code);
  while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == ssize_t(sizeof code)) {
    kill_child(pid);
    if (code[0] == 1)
      throw std::runtime_error(
          fmt::format("cannot move {} into its cgroup: {}", o.argv[0], std::strerror(code[1])));
    if (code[0] == 3)
      throw std::runtime_error(fmt::format("cannot run {} as {}: {}", o.argv[0],
                                           o.as_user->describe(), std::strerror(code[1])));
    throw std::runtime_error(fmt::format("cannot run {}: {}", o.argv[0], std::strerror(code[1])));
  }
  return pid;
}

ExitInfo wait_child(pid_t pid, double timeout_s, const std::function<void()>& serve) {
  using clock = std::chrono::steady_clock;
  ExitInfo info;
  auto start = clock::now();
  int status = 0;
  bool killed = false;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (!killed && (interrupted() || elapsed > timeout_s)) {
      info.timed_out = !interrupted();
      info.interrupted = interrupted();
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (serve && !killed)
      serve();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(killed ? 2 : 10));
  }
  untrack_child(pid);
  info.wall_s = std::chrono::duration<double>(clock::now() - start).count();
  if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) info.term_signal = WTERMSIG(status);
  if (interrupted()) info.interrupted = true;
  return info;
}

void kill_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  untrack_child(pid);
}

std::string sibling_executable(const std::string& name, const char* env_var) {
  if (const char* e = std::getenv(env_var); e && *e) return e;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path() / name).string();
}

}  // namespace faultline

namespace faultline {

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

std::optional<std::string> capture_output(const std::vector<std::string>& argv, double timeout_s,
                                          const Credentials* as_user,
                                          const std::vector<std::string>& cgroup_procs) {
  if (argv.empty()) return std::nullopt;
  std::string exe = find_program(argv[0]);
  if (exe.empty()) return std::nullopt;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::vector<std::string> args = argv;
  args[0] = exe;
  pid_t pid;
  try {
    pid = spawn({args, cgroup_procs, -1, out[1], devnull, {}, as_user});
  } catch (const std::exception&) {
    ::close(out[0]);
    ::close(out[1]);
    if (devnull >= 0) ::close(devnull);
    return std::nullopt;
  }
  ::close(out[1]);
  if (devnull >= 0) ::close(devnull);
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) {
      text.append(buf, std::size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR && !interrupted()) continue;
    break;
  }
  ::close(out[0]);
  ExitInfo e = wait_child(pid, timeout_s);
  if (e.exit_code != 0) return std::nullopt;
  return text;
}

}  // namespace faultline
