#include "common/interrupt.h"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace faultline {
namespace {

volatile std::sig_atomic_t g_signal = 0;
constexpr int kMaxTracked = 512;
std::atomic<pid_t> g_children[kMaxTracked];
static_assert(std::atomic<pid_t>::is_always_lock_free);

extern "C" void on_interrupt(int sig) {
  if (g_signal == 0) g_signal = sig;
  for (auto& slot : g_children) {
    const pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
}

}  // namespace

Interrupted::Interrupted(int sig)
    : std::runtime_error(fmt::format("interrupted by {}", strsignal(sig))), signal_(sig) {}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked call returns EINTR and we notice
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int pending_interrupt() {
  return g_signal;
}

void throw_if_interrupted() {
  if (g_signal != 0) throw Interrupted(g_signal);
}

void reraise_interrupt() {
  const int sig = g_signal;
  if (sig == 0) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void reset_interrupt_for_tests() {
  g_signal = 0;
}

void track_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void untrack_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace faultline
