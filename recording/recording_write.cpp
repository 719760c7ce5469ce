// The writer of recordings (all or nothing) and the op names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "recording/recording.h"

namespace faultline::recording {
namespace {

using ordered = nlohmann::ordered_json;

constexpr std::string_view kNames[] = {"read",        "fault",     "populate",
                                       "faultaround", "readahead", "syscall"};

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string_view op_name(Op op) {
  return kNames[static_cast<int>(op)];
}

std::optional<Op> parse_op(std::string_view name) {
  for (int i = 0; i < 6; ++i)
    if (kNames[i] == name) return static_cast<Op>(i);
  return std::nullopt;
}

std::string header_line(const Header& h) {
  ordered j;
  j["format"] = kFormatName;
  j["version"] = h.version;
  j["file"] = {{"path", h.path}, {"bytes", h.file_bytes}, {"dev", h.dev}, {"ino", h.ino}};
  j["command"] = h.command;
  j["recorded_at"] = h.recorded_at;
  j["threads"] = h.threads;
  const Completeness& c = h.complete;
  j["complete"] = {{"reads", c.reads},
                   {"faults", c.faults},
                   {"populate", c.populate},
                   {"readahead", c.readahead},
                   {"dropped_events", c.dropped_events},
                   {"note", c.note}};
  return j.dump();
}

std::string event_line(const Event& e) {
  ordered j;
  j["t_ns"] = e.t_ns;
  j["tid"] = e.tid;
  j["op"] = op_name(e.op);
  if (e.op == Op::kSyscall) {
    j["name"] = e.detail;
    j["ret"] = e.ret;
    if (!e.args.is_null()) j["args"] = ordered::parse(e.args.dump());
    return j.dump();
  }
  j["offset"] = e.offset;
  j["bytes"] = e.bytes;
  if ((e.op == Op::kRead || e.op == Op::kPopulate) && !e.detail.empty()) j["call"] = e.detail;
  if (e.op == Op::kRead && e.file) j["file"] = e.file;
  if (e.op == Op::kRead && e.dur_ns) j["dur_ns"] = e.dur_ns;
  if (e.op == Op::kReadahead) j["kind"] = e.detail;
  return j.dump();
}

void write_recording(const std::string& path, const Recording& r) {
  if (r.header.version != kFormatVersion)
    throw RecordingError(fmt::format("{}: this faultline writes recording version {}, not {}", path,
                                     kFormatVersion, r.header.version));
  // Everything is checked and formatted before the file exists.
  std::string text = header_line(r.header) + "\n";
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const Event& e = r.events[i];
    if (i > 0 && e.t_ns < r.events[i - 1].t_ns)
      throw RecordingError(fmt::format("{}: event {} is out of time order (t_ns {} after {})", path,
                                       i + 1, e.t_ns, r.events[i - 1].t_ns));
    if (e.op == Op::kSyscall && !e.args.is_null() && !e.args.is_object())
      throw RecordingError(
          fmt::format("{}: event {}: syscall args must be an object", path, i + 1));
    text += event_line(e);
    text += '\n';
  }
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    throw RecordingError(fmt::format("{}: cannot create {}: {}", path, tmp, std::strerror(errno)));
  bool ok = write_all(fd, text) && ::fchmod(fd, 0644) == 0 && ::fsync(fd) == 0;
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw RecordingError(fmt::format("{}: cannot write: {}", path, std::strerror(err)));
  }
}

}  // namespace faultline::recording
