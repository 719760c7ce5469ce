// What a program does with the bytes after load (DESIGN.md "Access pattern"):
//   none          ready only: nothing touched
//   first-layer   the tensors of the first layer
//   forward       every tensor once, in layer order (embeddings, layers 0..L-1, the rest)
//   sequential    every page of the file in file order
//   random:N      N seeded random 4 KiB pages of the file
//   moe:k/n       per layer: its dense tensors and k of its n experts (seeded choice)
//   replay:FILE[,gaps=on]  a recording's access ranges in its order (recording/README.md;
//                 benchmarks/replay.h: read-based strategies read exactly those ranges)
// Every pattern reads at least one byte of each 4 KiB page it covers (exactly
// one byte per page: it measures how the pages arrive, not memory bandwidth) and returns a checksum
// of what it read, so nothing is optimized away.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/model_layout.h"

namespace faultline {

class Mapping;

enum class PatternKind { kNone, kFirstLayer, kForward, kSequential, kRandom, kMoe, kReplay };

struct AccessPattern {
  PatternKind kind = PatternKind::kNone;
  std::uint64_t random_pages = 0;  // random:N
  int moe_k = 0, moe_n = 0;        // moe:k/n
  std::string replay_file;         // replay:FILE (the path as given)
  bool replay_gaps = false;        // replay:FILE,gaps=on
  bool operator==(const AccessPattern&) const = default;
};

// Throws std::invalid_argument listing the valid patterns.
AccessPattern parse_pattern(std::string_view spec);
std::string to_string(const AccessPattern& p);
// Comma-separated patterns; an item "gaps=..." continues the replay:FILE before it.
std::vector<AccessPattern> parse_pattern_list(std::string_view comma_list);

// Byte ranges [offset, offset + bytes) the pattern touches, in touch order.
struct Range {
  std::uint64_t offset;
  std::uint64_t bytes;
};
// Throws std::invalid_argument when the pattern does not fit the model
// (moe:k/n on a dense model or one with another expert count; a replay whose
// recording is unreadable or records a file of another size).
std::vector<Range> plan_ranges(const AccessPattern& p, const ModelLayout& layout,
                               std::uint64_t seed = 42);

// Number of distinct 4 KiB pages the ranges cover.
std::uint64_t pages_covered(const std::vector<Range>& ranges);

// Distinct bytes the ranges cover, counted in whole 4 KiB pages clipped to a
// file of `file_size` bytes (the last page counts only up to EOF): the
// metric touched_bytes, what gbps divides by the time.
std::uint64_t bytes_covered(const std::vector<Range>& ranges, std::uint64_t file_size);

// Touch every 4 KiB page of the ranges in `data` (one byte per page); returns
// the checksum.
std::uint64_t touch(const std::uint8_t* data, std::uint64_t size, const std::vector<Range>& ranges);

// Every pattern faultline-bench registers by default for this model.
std::vector<AccessPattern> default_patterns(const ModelLayout& layout);

}  // namespace faultline
