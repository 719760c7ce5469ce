// `faultline trace --record FILE`: the traced program's access sequence on
// the one --file model, in the recording format (recording/recording.h,
// documented in recording/README.md), built from the syscall log (reads,
// populate ranges, the item-2 calls) and the timeline (filemap faults,
// fault-around and readahead windows of that file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "recording/recording.h"

namespace faultline::harness {

struct RecordingInputs {
  std::string file;                  // the --file path
  std::vector<std::string> command;  // the traced argv
  std::string recorded_at;           // UTC ISO 8601
  const std::vector<bpf::SyscallEvent>* calls = nullptr;
  const std::vector<bpf::TimelineEvent>* timeline = nullptr;
  bool syscalls_measured = false;
  bool faults_measured = false;     // bpf_faults_filemap attached
  bool readahead_measured = false;  // bpf_readahead attached
  std::uint64_t syscalls_dropped = 0, timeline_dropped = 0;
  std::size_t timeline_stride = 1;  // > 1: the timeline kept every Nth event
};

// Throws recording::RecordingError naming the file when it cannot be stat'ed.
recording::Recording make_recording(const RecordingInputs& in);

// "2026-12-02T03:40:00Z" for now.
std::string utc_now_iso8601();

}  // namespace faultline::harness
