// `faultline trace --file M`'s "what did it do?": how the traced program
// opened, read and mapped the model, from the syscall log (bpf/tracer.h
// SyscallEvent), and the faultline strategy spec closest to it
// (benchmarks/strategy.h). Printed after the summary and written as the
// "syscalls" object of --json.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpf/tracer.h"

namespace faultline::harness {

struct ReadStats {
  std::map<std::string, std::uint64_t> calls;  // "pread64" -> count
  std::uint64_t count = 0, bytes = 0;
  std::uint64_t min_bytes = 0, p50_bytes = 0, max_bytes = 0;
  std::uint64_t sequential = 0;  // reads that start where the thread's previous one ended
  std::uint64_t distinct_sizes = 0;
  std::uint64_t stdio_shaped = 0;  // reads shaped as glibc's buffered stdio makes them
  int threads = 0;
  std::map<std::uint64_t, std::uint64_t> size_hist;  // power-of-two floor -> count
};

struct ClosestStrategy {
  std::string spec;                  // canonical (to_string(parse_strategy(...))), "" = none
  std::vector<std::string> presets;  // presets whose expansion is the same spec
  std::vector<std::string> notes;    // what the spec does not say, io_uring, ...
};

struct SyscallReport {
  std::optional<std::string> not_measured;  // why there is no syscall log
  std::uint64_t dropped = 0;                // calls lost (ring buffer full)
  std::vector<bpf::SyscallEvent> calls;     // in time order
  ReadStats reads;
  ClosestStrategy closest;
};

// `counters` tells whether pages of the file came in without read calls or
// mappings (io_uring and other paths that bypass the syscalls).
SyscallReport make_syscall_report(std::vector<bpf::SyscallEvent> calls, std::uint64_t dropped,
                                  std::optional<std::string> not_measured,
                                  const bpf::TraceCounters& counters);

// The closest strategy spec for these calls (exposed for tests).
ClosestStrategy closest_strategy(const std::vector<bpf::SyscallEvent>& calls,
                                 const ReadStats& reads, const bpf::TraceCounters& counters);

void print_syscall_report(std::FILE* out, const SyscallReport& report);
nlohmann::json syscall_json(const SyscallReport& report);

// An mmap/munmap/... that failed (ret in [-4095, -1]).
bool failed(const bpf::SyscallEvent& e);

}  // namespace faultline::harness
