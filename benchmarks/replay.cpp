// replay:FILE — the plan from a recording, the load and the pass (replay.h).
#include "benchmarks/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

#include "benchmarks/stream_order.h"
#include "benchmarks/touch_timer.h"
#include "recording/recording.h"

namespace faultline {

ReplayPlan plan_replay(const AccessPattern& p, const ModelLayout& layout) {
  recording::Recording rec;
  try {
    rec = recording::read_recording(p.replay_file);
  } catch (const recording::RecordingError& e) {
    throw std::invalid_argument(fmt::format("access pattern {}: {}", to_string(p), e.what()));
  }
  if (rec.header.file_bytes != layout.file_size)
    throw std::invalid_argument(fmt::format(
        "access pattern {}: {} records a file of {} bytes ({}), but the model {} is {} bytes",
        to_string(p), p.replay_file, rec.header.file_bytes, rec.header.path, layout.path,
        layout.file_size));
  ReplayPlan plan;
  std::map<std::uint32_t, std::size_t> stream_of;
  for (const auto& a : recording::access_sequence(rec)) {
    if (a.offset >= layout.file_size) continue;
    Range r{a.offset, std::min(a.bytes, layout.file_size - a.offset)};
    auto [it, fresh] = stream_of.emplace(a.tid, plan.streams.size());
    if (fresh) {
      plan.tids.push_back(a.tid);
      plan.streams.emplace_back();
    }
    plan.streams[it->second].ranges.push_back(r);
    plan.streams[it->second].t_ns.push_back(a.t_ns);
    plan.streams[it->second].dur_ns.push_back(a.dur_ns);
    plan.streams[it->second].files.push_back(a.file);
    plan.ranges.push_back(r);
  }
  return plan;
}

Mapping replay_load(const std::string& model, const Strategy& s, const ReplayPlan& plan,
                    bool gaps) {
  if (!reads_into_buffer(s)) return load(model, s);
  if (plan.streams.empty()) return load_ranges(model, s, {RangeStream{}}, gaps);
  return load_ranges(model, s, plan.streams, gaps);
}

bool replay_can_time_touches(const Strategy& s, const ReplayPlan& plan) {
  return reads_into_buffer(s) || plan.streams.size() <= 1;
}

namespace {

// One stream through the mapping, sleeping the gaps before each range and
// keeping the order across streams (a null order: none).
std::uint64_t touch_stream(const Mapping& m, const RangeStream& st, bool gaps, TouchTimer* timer,
                           const detail::OrderSlot& order = {}) {
  if ((!gaps || st.ranges.size() < 2) && !order.order)
    return timer ? timer->touch(m.data(), m.size(), st.ranges)
                 : touch(m.data(), m.size(), st.ranges);
  std::uint64_t sum = 0;
  std::vector<Range> one(1);
  for (std::size_t i = 0; i < st.ranges.size(); ++i) {
    // The ranges before i are done before the gap, so no other thread waits
    // through it; then the gap; then range i's turn.
    if (order.order) order.order->done(order.stream, i);
    if (gaps && i > 0 && st.t_ns[i] > st.t_ns[i - 1])
      std::this_thread::sleep_for(std::chrono::nanoseconds(st.t_ns[i] - st.t_ns[i - 1]));
    if (order.order) order.order->wait(order.stream, i);
    one[0] = st.ranges[i];
    sum =
        sum * 31 + (timer ? timer->touch(m.data(), m.size(), one) : touch(m.data(), m.size(), one));
  }
  if (order.order) order.order->done(order.stream, st.ranges.size());
  return sum;
}

}  // namespace

std::uint64_t replay_touch(const Mapping& m, const Strategy& s, const ReplayPlan& plan, bool gaps,
                           TouchTimer* timer) {
  if (reads_into_buffer(s))
    return timer ? timer->touch(m.data(), m.size(), plan.ranges)
                 : touch(m.data(), m.size(), plan.ranges);
  if (plan.streams.empty()) return 0;
  if (plan.streams.size() == 1) return touch_stream(m, plan.streams[0], gaps, timer);
  std::vector<std::uint64_t> sums(plan.streams.size(), 0);
  StreamOrder order(plan.streams);
  run_streams(plan.streams.size(), [&](std::size_t i) {
    try {
      sums[i] =
          touch_stream(m, plan.streams[i], gaps, nullptr, {order.active() ? &order : nullptr, i});
    } catch (const StreamOrder::Aborted&) {
      // Another stream failed; its error is the one reported.
    } catch (...) {
      order.abort();
      throw;
    }
  });
  std::uint64_t sum = 0;
  for (auto v : sums) sum ^= v;
  return sum;
}

}  // namespace faultline
