// StreamOrder: the recorded happens-before between a replay's threads
// (stream_order.h).
#include "benchmarks/stream_order.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace faultline {

StreamOrder::StreamOrder(const std::vector<RangeStream>& streams) {
  std::size_t timed = 0;
  for (const auto& st : streams)
    if (!st.ranges.empty() && st.t_ns.size() == st.ranges.size()) ++timed;
  active_ = timed >= 2;
  if (!active_) return;
  start_.resize(streams.size());
  end_.resize(streams.size());
  done_ = std::make_unique<std::atomic<std::uint64_t>[]>(streams.size());
  for (std::size_t s = 0; s < streams.size(); ++s) {
    const RangeStream& st = streams[s];
    if (st.t_ns.size() != st.ranges.size()) continue;  // not ordered: waits for nothing
    start_[s] = st.t_ns;
    end_[s].resize(st.t_ns.size());
    std::uint64_t last = 0;
    for (std::size_t i = 0; i < st.t_ns.size(); ++i) {
      const std::uint64_t dur = i < st.dur_ns.size() ? st.dur_ns[i] : 0;
      const std::uint64_t end = st.t_ns[i] > UINT64_MAX - dur ? UINT64_MAX : st.t_ns[i] + dur;
      last = std::max(last, end);
      end_[s][i] = last;
    }
  }
}

std::size_t StreamOrder::needed(std::size_t s, std::size_t i, std::size_t o) const {
  if (!active_ || o == s || i >= start_[s].size()) return 0;
  const auto& ends = end_[o];
  return static_cast<std::size_t>(std::lower_bound(ends.begin(), ends.end(), start_[s][i]) -
                                  ends.begin());
}

bool StreamOrder::may_start(std::size_t s, std::size_t i) const {
  if (!active_) return true;
  if (aborted_.load(std::memory_order_acquire)) return false;  // wait() then throws
  for (std::size_t o = 0; o < start_.size(); ++o)
    if (done_[o].load(std::memory_order_acquire) < needed(s, i, o)) return false;
  return true;
}

void StreamOrder::wait(std::size_t s, std::size_t i) const {
  if (!active_) return;
  for (std::size_t o = 0; o < start_.size(); ++o) {
    const std::uint64_t need = needed(s, i, o);
    for (std::uint64_t v = done_[o].load(std::memory_order_acquire); v < need;
         v = done_[o].load(std::memory_order_acquire))
      done_[o].wait(v, std::memory_order_acquire);
    if (aborted_.load(std::memory_order_acquire)) throw Aborted();
  }
}

void StreamOrder::done(std::size_t s, std::size_t count) {
  if (!active_) return;
  std::uint64_t v = done_[s].load(std::memory_order_relaxed);
  while (v < count && !done_[s].compare_exchange_weak(v, count, std::memory_order_release)) {
  }
  done_[s].notify_all();
}

void StreamOrder::abort() {
  if (!active_) return;
  aborted_.store(true, std::memory_order_release);
  for (std::size_t o = 0; o < start_.size(); ++o) {
    done_[o].store(std::numeric_limits<std::uint64_t>::max(), std::memory_order_release);
    done_[o].notify_all();
  }
}

}  // namespace faultline
