// Ctrl-C / SIGTERM handling for long writes: the handler only records the
// signal; OutputFile checks it between blocks, throws Interrupted, and its
// destructor removes the partial file. Only executables install the handlers
// (a library must not take over a process's signals).
#pragma once

#include <stdexcept>

namespace faultline {

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int sig);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// SIGINT, SIGTERM, SIGHUP: record the signal (first one wins).
void install_interrupt_handlers();
// The recorded signal, or 0.
int pending_interrupt();
// Throws Interrupted if a signal was recorded.
void throw_if_interrupted();
// Re-deliver the recorded signal with its default action, so the parent sees
// the process die of it (exit status 128+sig in a shell). Returns if none.
void reraise_interrupt();

}  // namespace faultline
