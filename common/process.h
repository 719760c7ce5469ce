// The one way faultline starts a child process: fork + exec of an argument
// vector (never a shell), set up between fork and exec with what every caller
// needs (cgroups, credentials, descriptors, death signal, process group),
// exec errors brought back through a close-on-exec pipe; waiting with a
// timeout; output capture that does not hang on a daemonized grandchild.
// `faultline run` (cells, fleets, fio, git), `faultline trace` (the traced
// command, held before exec), the report (Python) and the credential checks
// all start theirs here. Tracked children are killed by the interrupt
// handler (common/interrupt.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct Credentials;

struct SpawnOptions {
  static constexpr int kInherit = -2;  // for stdin_fd: keep ours

  // argv[0]: the executable (a name without '/' is looked up in PATH).
  std::vector<std::string> argv;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before exec
  int stdin_fd = -1;                      // -1: /dev/null; kInherit: ours
  int stdout_fd = -1;                     // -1: inherit
  int stderr_fd = -1;                     // -1: inherit
  // Further descriptors the child gets: {parent fd, fd number in the child}.
  // Every other descriptor (beyond 0, 1, 2) is closed at exec.
  std::vector<std::pair<int, int>> fds;
  // Run as this user (common/credentials.h) rather than as this process.
  // nullptr: our credentials.
  const Credentials* as_user = nullptr;
  // With as_user: keep CAP_IPC_LOCK as its one capability when we can hand it
  // on (as_user->ipc_lock), so mlock strategies measure the lock, not the
  // user's default limit. false: no capability at all.
  bool keep_ipc_lock = true;
  // The child's environment ("NAME=value"); nullopt: ours.
  std::optional<std::vector<std::string>> env;
  // PR_SET_PDEATHSIG SIGKILL: the child dies with the thread that started it
  // (an orphaned faultline-bench would go on writing into the run folder).
  bool die_with_parent = true;
  // Its own process group (a terminal's Ctrl-C reaches only us, and we kill
  // it); false: ours (the terminal's Ctrl-C reaches it too).
  bool own_process_group = true;
  // Killed (SIGKILL) by the interrupt handler on Ctrl-C / SIGTERM / SIGHUP.
  bool track = true;
};

// What could not be done between fork and exec (the child is reaped).
class SpawnError : public std::runtime_error {
 public:
  enum class Step { lookup, cgroup, credentials, descriptors, exec };
  SpawnError(const std::string& message, Step step, int error)
      : std::runtime_error(message), step(step), error(error) {}
  Step step;
  int error;  // the errno
};

// Forks and execs; returns the pid. Throws std::system_error when the fork
// (or a pipe) fails, SpawnError naming the executable when the lookup, the
// cgroups, the credentials or the exec fail: "cannot run /x/y: No such file
// or directory", "cannot move /x/y into its cgroup: ...", "cannot run /x/y as
// alice (uid 1000): ...".
pid_t spawn(const SpawnOptions& options);

// A child that has done everything but exec and waits for release(): what
// `faultline trace` needs so that the tracer is attached before the command
// runs. Not released, it is killed and reaped on destruction (it never ran).
class HeldChild {
 public:
  HeldChild() = default;
  HeldChild(HeldChild&& other) noexcept;
  HeldChild& operator=(HeldChild&& other) noexcept;
  ~HeldChild();

  pid_t pid() const { return pid_; }
  bool held() const { return go_fd_ >= 0; }
  // Lets it exec. Throws SpawnError (the child reaped) when the exec failed.
  void release();
  void abandon();  // kill and reap a child still held; nothing otherwise

 private:
  friend HeldChild spawn_held(const SpawnOptions& options);
  pid_t pid_ = -1;
  int go_fd_ = -1, error_fd_ = -1;
  std::string program_;
};

// As spawn(), held before exec. Throws as spawn() does for what precedes exec.
HeldChild spawn_held(const SpawnOptions& options);

struct ExitInfo {
  std::optional<int> exit_code;    // normal exit
  std::optional<int> term_signal;  // killed by a signal
  bool timed_out = false;
  bool interrupted = false;  // killed because the run was interrupted
  // The last signal we sent to end it: SIGTERM (it ended within the grace
  // period) or SIGKILL; 0 when it ended on its own.
  int killed_with = 0;
  double wall_s = 0;
  std::uint64_t minor_faults = 0, major_faults = 0;  // its rusage (and its waited-for children's)
  // ru_inblock: 512-byte units read from storage by it and its waited-for
  // children (the task I/O accounting behind /proc/PID/io read_bytes).
  std::uint64_t in_blocks = 0;
  // 128 + signal when killed (as a shell shows it), 1 when unknown.
  int status_code() const;
};

struct WaitOptions {
  double timeout_s = std::numeric_limits<double>::infinity();
  // Past the timeout: SIGTERM, then SIGKILL after grace_s. 0: SIGKILL at once.
  double grace_s = 0;
  // Called in the wait loop instead of sleeping; must itself wait briefly
  // (e.g. poll() for 10 ms).
  std::function<void()> serve;
};

// Waits for the child; past the timeout (or on an interrupt: SIGKILL at
// once) kills it and reaps it. Untracks it.
ExitInfo wait_child(pid_t pid, const WaitOptions& options);
ExitInfo wait_child(pid_t pid, double timeout_s, const std::function<void()>& serve = {});
// Without waiting: nullopt while it runs; reaped (and untracked) otherwise.
std::optional<ExitInfo> try_wait_child(pid_t pid);
// Kills (SIGKILL) and reaps (for error paths).
void kill_child(pid_t pid);

struct CaptureOptions {
  double timeout_s = 30;
  double grace_s = 0;  // as WaitOptions::grace_s
  // stderr into Captured::err; otherwise to SpawnOptions::stderr_fd, or
  // /dev/null when that is -1.
  bool capture_stderr = false;
};

struct Captured {
  std::string out, err;
  ExitInfo exit;
  std::string error;  // why it could not start ("cannot run fio: ..."); "" when it ran
  // The child (reaped by now); with own_process_group, also the group of
  // whatever it left running.
  pid_t pid = -1;
  bool ok() const { return error.empty() && exit.exit_code == 0; }
};

// Runs `spawn` (its stdout, and stderr if asked, into pipes) and collects
// what it writes. Reading ends when the pipes close or, once the child has
// exited, when what is readable has been read (a short grace): a daemonized
// grandchild that keeps the pipe open cannot hold it up.
Captured capture(SpawnOptions spawn, const CaptureOptions& options = {});

// Its stdout, or nullopt when it cannot run or exits nonzero. stderr goes to
// /dev/null. The child runs as `as_user` when given and joins `cgroup_procs`.
std::optional<std::string> capture_output(const std::vector<std::string>& argv,
                                          double timeout_s = 30,
                                          const Credentials* as_user = nullptr,
                                          const std::vector<std::string>& cgroup_procs = {});

// Runs `check` in a forked child (no exec) that has become `as_user` (no
// capability) and returns what it returned (0..255; -1 when the child was
// killed): for checks that must be
// made with the user's rights. `check` runs between fork and _exit: only
// async-signal-safe calls (open, access, close...). Throws SpawnError when the
// child cannot become the user, std::system_error when it cannot fork.
int call_in_child(const std::function<int()>& check, const Credentials* as_user);

// The program `name` found in PATH (or as given when it holds a '/'); ""
// when missing or not executable.
std::string find_program(const std::string& name);

// The executable named `name` next to this program (/proc/self/exe's folder),
// or $<env_var> when set.
std::string sibling_executable(const std::string& name, const char* env_var);

}  // namespace faultline
