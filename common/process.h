// Fresh processes for cells: fork + exec of an argument vector (never a
// shell), moved into the cell's cgroups before exec, tracked so that Ctrl-C /
// SIGTERM kills them, and waited for with a timeout.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct Credentials;

struct SpawnOptions {
  std::vector<std::string> argv;          // argv[0] is the executable path
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before exec
  int stdin_fd = -1;                      // -1: /dev/null
  int stdout_fd = -1;                     // -1: inherit
  int stderr_fd = -1;                     // -1: inherit
  // Further descriptors the child gets: {parent fd, fd number in the child}.
  std::vector<std::pair<int, int>> fds;
  // Run as this user (common/credentials.h) rather than as this process,
  // with CAP_IPC_LOCK as its one capability when we can hand it on, so mlock
  // strategies measure the lock, not the user's default limit. nullptr: same
  // credentials as ours.
  const Credentials* as_user = nullptr;
};

// Forks and execs; returns the pid. Throws std::system_error when the fork
// fails, std::runtime_error naming the executable when exec (or joining the
// cgroups) fails. The child gets its own process group and is tracked.
pid_t spawn(const SpawnOptions& options);

struct ExitInfo {
  std::optional<int> exit_code;    // normal exit
  std::optional<int> term_signal;  // killed by a signal
  bool timed_out = false;
  bool interrupted = false;  // killed because the run was interrupted
  double wall_s = 0;
};

// Waits for the child; past timeout_s (or on interrupt) kills it (SIGKILL)
// and reaps it. Untracks it. `serve`, when given, is called in the wait loop
// instead of sleeping and must itself wait briefly (e.g. poll() for 10 ms).
ExitInfo wait_child(pid_t pid, double timeout_s, const std::function<void()>& serve = {});
// Kills and reaps (for error paths).
void kill_child(pid_t pid);

// The executable named `name` next to this program (/proc/self/exe's folder),
// or $<env_var> when set.
std::string sibling_executable(const std::string& name, const char* env_var);

}  // namespace faultline

namespace faultline {

// Runs argv (PATH lookup when argv[0] has no '/') and returns its stdout, or
// nullopt when it cannot run or exits nonzero. stderr goes to /dev/null. The
// child runs as `as_user` when given and joins `cgroup_procs` before exec.
std::optional<std::string> capture_output(const std::vector<std::string>& argv,
                                          double timeout_s = 30,
                                          const Credentials* as_user = nullptr,
                                          const std::vector<std::string>& cgroup_procs = {});

// argv[0] found in PATH (or as given when it holds a '/'); "" when missing.
std::string find_program(const std::string& name);

}  // namespace faultline
