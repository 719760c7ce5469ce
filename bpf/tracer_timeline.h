// Inside the Tracer: the timeline ring buffer's consumer, with a bounded,
// pre-touched event buffer (TraceFilter::timeline_max_events).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/tracer.h"

struct ring_buffer;

namespace faultline::bpf::detail {

class Timeline {
 public:
  ~Timeline() { close(); }
  std::string open(int ring_fd, std::size_t max_events);  // "" or why not
  void close();
  std::size_t poll(int timeout_ms);  // events that arrived
  std::vector<TimelineEvent> take();
  void reset();
  std::size_t stride() const { return stride_; }
  std::uint64_t seen() const { return seen_; }

 private:
  static int on_event(void* ctx, void* data, std::size_t size);
  ring_buffer* rb_ = nullptr;
  std::vector<TimelineEvent> events_;
  std::size_t cap_ = 0;     // 0 = unbounded
  std::size_t stride_ = 1;  // keep every stride-th event
  std::uint64_t seen_ = 0;  // events that arrived
};

}  // namespace faultline::bpf::detail
