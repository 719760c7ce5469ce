// Inside the Tracer: the consumer of syscall_log.bpf.c's ring buffer
// (TraceFilter::syscall_log), turning struct fl_sc_event into SyscallEvent.
#pragma once

#include <string>
#include <vector>

#include "bpf/tracer.h"

struct ring_buffer;

namespace faultline::bpf::detail {

class SyscallLog {
 public:
  ~SyscallLog() { close(); }
  std::string open(int ring_fd);  // "" or why not
  void close();
  bool is_open() const { return rb_ != nullptr; }
  std::size_t poll(int timeout_ms);  // events that arrived
  std::vector<SyscallEvent> take();

 private:
  static int on_event(void* ctx, void* data, std::size_t size);
  ring_buffer* rb_ = nullptr;
  std::vector<SyscallEvent> events_;
};

// "pread64" for SYS_pread64, ... ("syscall N" for others).
std::string syscall_name(long nr);

}  // namespace faultline::bpf::detail
