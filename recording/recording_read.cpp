// The strict reader of recordings: every problem names the file and line.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include <fmt/format.h>

#include "recording/recording.h"

namespace faultline::recording {
namespace {

using nlohmann::json;

// Where we are: throws "FILE:LINE: what".
struct Place {
  const std::string& file;
  std::size_t line;
  [[noreturn]] void fail(const std::string& what) const {
    throw RecordingError(fmt::format("{}:{}: {}", file, line, what));
  }
  void warn(std::vector<std::string>& out, const std::string& what) const {
    out.push_back(fmt::format("{}:{}: {}", file, line, what));
  }
};

const json& need(const Place& at, const json& obj, const char* key, const char* where) {
  auto it = obj.find(key);
  if (it == obj.end()) at.fail(fmt::format("{} has no \"{}\"", where, key));
  return *it;
}

std::uint64_t as_uint(const Place& at, const json& v, const char* key) {
  if (!v.is_number_unsigned())
    at.fail(fmt::format("\"{}\" must be a non-negative integer, not {}", key, v.dump()));
  return v.get<std::uint64_t>();
}

std::int64_t as_int(const Place& at, const json& v, const char* key) {
  if (!v.is_number_integer())
    at.fail(fmt::format("\"{}\" must be an integer, not {}", key, v.dump()));
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    at.fail(fmt::format("\"{}\" is out of range: {}", key, v.dump()));
  return v.get<std::int64_t>();
}

std::string as_string(const Place& at, const json& v, const char* key) {
  if (!v.is_string()) at.fail(fmt::format("\"{}\" must be a string, not {}", key, v.dump()));
  return v.get<std::string>();
}

bool as_bool(const Place& at, const json& v, const char* key) {
  if (!v.is_boolean()) at.fail(fmt::format("\"{}\" must be true or false, not {}", key, v.dump()));
  return v.get<bool>();
}

// Unknown keys of an object: warnings (the same version may add none, but a
// hand-edited file may; a newer version is refused before we get here).
void warn_unknown(const Place& at, const json& obj, const std::set<std::string>& known,
                  const char* where, std::vector<std::string>& warnings) {
  for (const auto& [key, _] : obj.items())
    if (!known.count(key))
      at.warn(warnings, fmt::format("unknown key \"{}\" in {} skipped", key, where));
}

Completeness parse_complete(const Place& at, const json& c, std::vector<std::string>& warnings) {
  if (!c.is_object()) at.fail("\"complete\" must be an object");
  Completeness out;
  out.reads = as_bool(at, need(at, c, "reads", "\"complete\""), "reads");
  out.faults = as_string(at, need(at, c, "faults", "\"complete\""), "faults");
  if (out.faults != "all" && out.faults != "sampled" && out.faults != "none")
    at.fail(
        fmt::format("\"faults\" must be \"all\", \"sampled\" or \"none\", not \"{}\"", out.faults));
  out.populate = as_bool(at, need(at, c, "populate", "\"complete\""), "populate");
  out.readahead = as_bool(at, need(at, c, "readahead", "\"complete\""), "readahead");
  out.dropped_events = as_uint(at, need(at, c, "dropped_events", "\"complete\""), "dropped_events");
  if (auto it = c.find("note"); it != c.end()) out.note = as_string(at, *it, "note");
  warn_unknown(at, c, {"reads", "faults", "populate", "readahead", "dropped_events", "note"},
               "\"complete\"", warnings);
  return out;
}

Header parse_header(const Place& at, const json& h, std::vector<std::string>& warnings) {
  if (!h.is_object()) at.fail("the header (line 1) must be a JSON object");
  auto format = h.find("format");
  if (format == h.end() || !format->is_string() || *format != kFormatName)
    at.fail(
        fmt::format("not a faultline recording (line 1 has no \"format\":\"{}\")", kFormatName));
  Header out;
  std::int64_t version = as_int(at, need(at, h, "version", "the header"), "version");
  if (version > kFormatVersion)
    at.fail(fmt::format("recording version {}, this faultline reads {}", version, kFormatVersion));
  if (version < 1) at.fail(fmt::format("recording version {} does not exist", version));
  out.version = static_cast<int>(version);
  const json& file = need(at, h, "file", "the header");
  if (!file.is_object()) at.fail("\"file\" must be an object");
  out.path = as_string(at, need(at, file, "path", "\"file\""), "path");
  out.file_bytes = as_uint(at, need(at, file, "bytes", "\"file\""), "bytes");
  if (auto it = file.find("dev"); it != file.end()) out.dev = as_uint(at, *it, "dev");
  if (auto it = file.find("ino"); it != file.end()) out.ino = as_uint(at, *it, "ino");
  warn_unknown(at, file, {"path", "bytes", "dev", "ino"}, "\"file\"", warnings);
  if (auto it = h.find("command"); it != h.end()) {
    if (!it->is_array()) at.fail("\"command\" must be an array of strings");
    for (const auto& a : *it) out.command.push_back(as_string(at, a, "command"));
  }
  if (auto it = h.find("recorded_at"); it != h.end())
    out.recorded_at = as_string(at, *it, "recorded_at");
  std::int64_t threads = as_int(at, need(at, h, "threads", "the header"), "threads");
  if (threads < 1 || threads > 1 << 20)
    at.fail(fmt::format("\"threads\" must be >= 1, not {}", threads));
  out.threads = static_cast<int>(threads);
  out.complete = parse_complete(at, need(at, h, "complete", "the header"), warnings);
  warn_unknown(at, h,
               {"format", "version", "file", "command", "recorded_at", "threads", "complete"},
               "the header", warnings);
  return out;
}

// One event line; false when its op is unknown (skipped with a warning).
bool parse_event(const Place& at, const json& e, Event& out, std::vector<std::string>& warnings) {
  if (!e.is_object()) at.fail("an event must be a JSON object");
  out.t_ns = as_uint(at, need(at, e, "t_ns", "the event"), "t_ns");
  std::uint64_t tid = as_uint(at, need(at, e, "tid", "the event"), "tid");
  if (tid > UINT32_MAX) at.fail(fmt::format("\"tid\" is out of range: {}", tid));
  out.tid = static_cast<std::uint32_t>(tid);
  std::string name = as_string(at, need(at, e, "op", "the event"), "op");
  auto op = parse_op(name);
  if (!op) {
    at.warn(warnings, fmt::format("unknown op \"{}\" skipped", name));
    return false;
  }
  out.op = *op;
  std::set<std::string> known = {"t_ns", "tid", "op"};
  if (out.op == Op::kSyscall) {
    out.detail = as_string(at, need(at, e, "name", "a syscall event"), "name");
    out.ret = as_int(at, need(at, e, "ret", "a syscall event"), "ret");
    if (auto it = e.find("args"); it != e.end()) {
      if (!it->is_object()) at.fail("\"args\" must be an object");
      out.args = *it;
    }
    known.insert({"name", "ret", "args"});
  } else {
    out.offset = as_uint(at, need(at, e, "offset", "the event"), "offset");
    out.bytes = as_uint(at, need(at, e, "bytes", "the event"), "bytes");
    if (out.offset + out.bytes < out.offset) at.fail("offset + bytes overflows");
    known.insert({"offset", "bytes"});
    if (out.op == Op::kRead || out.op == Op::kPopulate) {
      if (auto it = e.find("call"); it != e.end()) out.detail = as_string(at, *it, "call");
      known.insert("call");
      if (out.op == Op::kRead) {
        if (auto it = e.find("file"); it != e.end()) {
          const std::uint64_t f = as_uint(at, *it, "file");
          if (f > 0xffffffffu) at.fail("\"file\" is too large");
          out.file = static_cast<std::uint32_t>(f);
        }
        if (auto it = e.find("dur_ns"); it != e.end()) {
          out.dur_ns = as_uint(at, *it, "dur_ns");
          if (out.t_ns + out.dur_ns < out.t_ns) at.fail("t_ns + dur_ns overflows");
        }
        known.insert({"file", "dur_ns"});
      }
    } else if (out.op == Op::kReadahead) {
      out.detail = as_string(at, need(at, e, "kind", "a readahead event"), "kind");
      if (out.detail != "sync" && out.detail != "async" && out.detail != "order" &&
          out.detail != "unbounded")
        at.fail(fmt::format(
            "\"kind\" must be \"sync\", \"async\", \"order\" or \"unbounded\", not \"{}\"",
            out.detail));
      known.insert("kind");
    }
  }
  warn_unknown(at, e, known, fmt::format("a {} event", name).c_str(), warnings);
  return true;
}

}  // namespace

Recording read_recording(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  Recording rec;
  std::string line;
  std::size_t n = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    Place at{path, ++n};
    if (line.find_first_not_of(" \t\r") == std::string::npos) at.fail("empty line");
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      at.fail(fmt::format("not JSON: {}", e.what()));
    }
    if (!have_header) {
      rec.header = parse_header(at, j, rec.warnings);
      have_header = true;
      continue;
    }
    Event ev;
    if (!parse_event(at, j, ev, rec.warnings)) continue;
    if (!rec.events.empty() && ev.t_ns < rec.events.back().t_ns)
      at.fail(fmt::format("events out of time order: t_ns {} after {}", ev.t_ns,
                          rec.events.back().t_ns));
    rec.events.push_back(std::move(ev));
  }
  if (in.bad()) throw RecordingError(fmt::format("{}: read error: {}", path, std::strerror(errno)));
  if (!have_header)
    throw RecordingError(fmt::format("{}:1: empty file, expected the header", path));
  return rec;
}

std::vector<Access> access_sequence(const Recording& r) {
  std::vector<Access> out;
  for (const Event& e : r.events) {
    if (e.bytes == 0) continue;
    if (e.op == Op::kRead || e.op == Op::kFault || e.op == Op::kPopulate)
      out.push_back({e.t_ns, e.tid, e.offset, e.bytes, e.op == Op::kRead ? e.file : 0u,
                     e.op == Op::kRead ? e.dur_ns : 0u});
  }
  return out;
}

}  // namespace faultline::recording
