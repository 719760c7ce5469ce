// The one owner of Ctrl-C / SIGTERM / SIGHUP. The handler records the first
// signal and SIGKILLs every child registered with track_child() (the cells of
// `faultline run`, the traced command); it does nothing else, so it is
// async-signal-safe. Long work polls interrupted() / throw_if_interrupted()
// between steps (OutputFile between blocks, the run between cells) and
// cleans up; the executable then exits 128 + signal or re-raises it. Only
// executables install the handlers (a library must not take over a process's
// signals).
#pragma once

#include <sys/types.h>

#include <stdexcept>

namespace faultline {

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int sig);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// SIGINT, SIGTERM, SIGHUP: record the signal (first one wins), kill tracked
// children. No SA_RESTART: a blocked call returns EINTR and the caller notices.
void install_interrupt_handlers();
// The recorded signal, or 0.
int pending_interrupt();
inline bool interrupted() {
  return pending_interrupt() != 0;
}
// Throws Interrupted if a signal was recorded.
void throw_if_interrupted();
// Re-deliver the recorded signal with its default action, so the parent sees
// the process die of it (exit status 128+sig in a shell). Returns if none.
void reraise_interrupt();
// Forget a recorded signal (tests only).
void reset_interrupt_for_tests();

// Children the handler kills (SIGKILL) on an interrupt. Lock-free; at most
// 512 at once (more are not tracked, and then not killed by the handler).
void track_child(pid_t pid);
void untrack_child(pid_t pid);

}  // namespace faultline
