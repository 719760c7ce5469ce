// A recording: what a program did to one model file, in time order (the
// format is documented in recording/README.md). `faultline trace --record`
// writes it; faultline-bench's `replay:FILE` pattern reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::recording {

// The version this faultline writes and the newest it reads.
inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kFormatName = "faultline-recording";

// Access ops (read, fault, populate) are what replay reproduces; kernel ops
// (faultaround, readahead) and syscalls are recorded, never replayed.
enum class Op { kRead, kFault, kPopulate, kFaultAround, kReadahead, kSyscall };

// "read", "fault", "populate", "faultaround", "readahead", "syscall".
std::string_view op_name(Op op);
std::optional<Op> parse_op(std::string_view name);

struct Event {
  std::uint64_t t_ns = 0;  // since the first event
  std::uint32_t tid = 0;
  Op op = Op::kRead;
  std::uint64_t offset = 0, bytes = 0;  // a file range (syscall: unused)
  std::string detail;    // read: call; populate: call; readahead: kind; syscall: name
  std::int64_t ret = 0;  // syscall only
  nlohmann::json args;   // syscall only (object, or null for none)
  // read only: which open of the model the read went through (1, 2, ... in
  // the order the opens were seen; 0 = not known). Readahead state lives in
  // the open file, so a replay opens the file once per distinct value.
  std::uint32_t file = 0;
  // read only: how long the call took (exit - entry), 0 = not known. A
  // replay keeps threads that read one after another in that order.
  std::uint64_t dur_ns = 0;
};

// How complete the sequence is: which kinds of event were recorded at all.
struct Completeness {
  bool reads = false;
  std::string faults;  // "all" | "sampled" | "none"
  bool populate = false, readahead = false;
  std::uint64_t dropped_events = 0;
  std::string note;
};

struct Header {
  int version = kFormatVersion;
  std::string path;  // the model file as the program opened it
  std::uint64_t file_bytes = 0, dev = 0, ino = 0;
  std::vector<std::string> command;
  std::string recorded_at;  // UTC, ISO 8601 ("2026-12-02T03:40:00Z")
  int threads = 1;
  Completeness complete;
};

struct Recording {
  Header header;
  std::vector<Event> events;
  // read_recording only: unknown ops and keys it skipped (never written).
  std::vector<std::string> warnings;
};

// Every problem with a recording: "FILE:LINE: what" (or "FILE: what").
class RecordingError : public std::runtime_error {
  using runtime_error::runtime_error;
};

// Strict: bad JSON, a missing key, a wrongly typed value, events out of time
// order, an unknown format or a newer version throw RecordingError.
Recording read_recording(const std::string& path);

// All or nothing: a temporary file beside `path`, renamed over it when every
// line is written. Throws RecordingError (events out of order, I/O errors).
void write_recording(const std::string& path, const Recording& r);

// The header and each event as the file's lines (without the newline).
std::string header_line(const Header& h);
std::string event_line(const Event& e);

// One access range a replay reproduces.
struct Access {
  std::uint64_t t_ns;
  std::uint32_t tid;
  std::uint64_t offset, bytes;
  std::uint32_t file = 0;    // reads: Event::file
  std::uint64_t dur_ns = 0;  // reads: Event::dur_ns
};

// The read, fault and populate events with bytes > 0, in the file's order.
std::vector<Access> access_sequence(const Recording& r);

}  // namespace faultline::recording
