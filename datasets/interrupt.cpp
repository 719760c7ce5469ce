#include "datasets/interrupt.h"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace faultline {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void record_signal(int sig) {
  if (g_signal == 0) g_signal = sig;
}

}  // namespace

Interrupted::Interrupted(int sig)
    : std::runtime_error(fmt::format("interrupted by {}", strsignal(sig))), signal_(sig) {}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = record_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked write returns EINTR and we notice
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

}  // namespace faultline
