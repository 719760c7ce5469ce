// The access pattern replay:FILE[,gaps=on]: a recording's access sequence
// (recording/README.md) reproduced under any strategy. The sequence is both
// an order and a set of ranges:
//   - read-based strategies (read, pread, direct, uring) read exactly those
//     ranges in that order (load_ranges.h): the load IS the replay;
//   - mapping strategies map the file as load() does, then touch each range
//     through the mapping (one byte per page) in that order.
// A recording with several tids replays with one thread per tid (in order of
// their first event), each in its own order, and in the recorded order across
// them: an access waits for the other threads' accesses that ended before it
// started in the recording (stream_order.h), so threads that took turns take
// turns and threads that overlapped overlap; gaps=on sleeps the recorded gaps
// between a thread's consecutive events, inside the timed region.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/access_pattern.h"
#include "benchmarks/load_ranges.h"
#include "benchmarks/mapping.h"

namespace faultline {

class TouchTimer;

struct ReplayPlan {
  std::vector<std::uint32_t> tids;   // one per stream
  std::vector<RangeStream> streams;  // each tid's ranges, in its order
  std::vector<Range> ranges;         // every range in the recording's order (plan_ranges)
};

// Reads the recording of a replay pattern and clips its ranges to the model.
// Throws std::invalid_argument naming the file: unreadable or malformed
// (the reader's "FILE:LINE: what"), or recorded on a file of another size.
ReplayPlan plan_replay(const AccessPattern& p, const ModelLayout& layout);

// The timed load of a replay cell: load_ranges() for read-based strategies,
// load() for mapping ones.
Mapping replay_load(const std::string& model, const Strategy& s, const ReplayPlan& plan, bool gaps);

// The pass after replay_load(): through a mapping, every stream's ranges on
// its own thread (with the gaps); for a filled buffer, every range once in
// the recording's order (no gaps: they were slept while reading). Returns
// the checksum. `timer` (optional) times first touches; it is used only when
// one thread touches (one stream, or a buffer).
std::uint64_t replay_touch(const Mapping& m, const Strategy& s, const ReplayPlan& plan, bool gaps,
                           TouchTimer* timer);

// True when replay_touch() can use a touch timer for this plan.
bool replay_can_time_touches(const Strategy& s, const ReplayPlan& plan);

}  // namespace faultline
