#include "bpf/tracer_timeline.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "bpf/trace_shared.h"

namespace faultline::bpf::detail {
namespace {

std::string_view kind_name(unsigned kind) {
  switch (kind) {
    case FL_EV_FILEMAP_FAULT:
      return "filemap_fault";
    case FL_EV_FAULTAROUND:
      return "faultaround";
    case FL_EV_MAJOR_FAULT:
      return "major_fault";
    case FL_EV_RA_SYNC:
      return "ra_sync";
    case FL_EV_RA_ASYNC:
      return "ra_async";
    case FL_EV_RA_ORDER:
      return "ra_order";
    case FL_EV_RA_UNBOUNDED:
      return "ra_unbounded";
    case FL_EV_PC_ADD:
      return "pagecache_add";
    case FL_EV_PC_DEL:
      return "pagecache_evict";
    case FL_EV_BIO_ISSUE:
      return "bio_issue";
    case FL_EV_BIO_DONE:
      return "bio_done";
    default:
      return "unknown";
  }
}

}  // namespace

std::string Timeline::open(int ring_fd, std::size_t max_events) {
  cap_ = max_events;
  rb_ = ring_buffer__new(ring_fd, &Timeline::on_event, this, nullptr);
  if (!rb_) return fmt::format("cannot open the timeline ring buffer: {}", std::strerror(errno));
  return "";
}

void Timeline::close() {
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
}

int Timeline::on_event(void* ctx, void* data, std::size_t size) {
  if (size < sizeof(fl_event)) return 0;
  const auto* e = static_cast<const fl_event*>(data);
  auto* self = static_cast<Timeline*>(ctx);
  const std::uint64_t n = self->seen_++;
  if (n % self->stride_) return 0;
  if (self->cap_ && self->events_.size() >= self->cap_) {
    // Full: keep every other kept event (those at multiples of 2 x stride).
    std::size_t j = 0;
    for (std::size_t i = 0; i < self->events_.size(); i += 2) self->events_[j++] = self->events_[i];
    self->events_.resize(j);
    self->stride_ *= 2;
    if (n % self->stride_) return 0;
  }
  self->events_.push_back(
      {e->ts_ns, e->tgid, e->tid, kind_name(e->kind), e->ino, e->index, e->nr, e->value, e->order});
  return 0;
}

std::size_t Timeline::poll(int timeout_ms) {
  if (!rb_) return 0;
  const std::uint64_t before = seen_;
  ring_buffer__poll(rb_, timeout_ms);
  return std::size_t(seen_ - before);
}

std::vector<TimelineEvent> Timeline::take() {
  return std::exchange(events_, {});
}

void Timeline::reset() {
  if (rb_)
    while (ring_buffer__consume(rb_) > 0) {
    }
  events_.clear();
  stride_ = 1;
  seen_ = 0;
  if (cap_) {
    events_.resize(cap_);  // allocate and touch every page now
    events_.clear();
  }
}

}  // namespace faultline::bpf::detail
