#include "harness/trace_recording.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/syscall_flags.h"
#include "harness/syscall_report.h"

namespace faultline::harness {
namespace {

using recording::Event;
using recording::Op;

bool is_read(const std::string& n) {
  return n == "read" || n == "pread64" || n == "readv" || n == "preadv";
}

// The file-level arguments of a syscall event (recording/README.md).
nlohmann::json args_of(const bpf::SyscallEvent& e) {
  nlohmann::json a = nlohmann::json::object();
  const auto& n = e.name;
  if (n == "openat") a["flags"] = open_flags(e.args[2]);
  if (n == "open") a["flags"] = open_flags(e.args[1]);
  if (n == "mmap") {
    a["prot"] = mmap_prot(e.args[2]);
    a["flags"] = mmap_flags(e.args[3]);
  }
  if (n == "madvise") a["advice"] = madvise_advice(e.args[2]);
  if (n == "fadvise64") a["advice"] = fadvise_advice(e.args[3]);
  if (n == "mlock2") a["flags"] = mlock2_flags(e.args[2]);
  if (e.has_range) {
    a["offset"] = e.file_offset;
    a["bytes"] = e.file_bytes;
  }
  return a;
}

// Whether a successful call made the kernel fill its file range.
bool populates(const bpf::SyscallEvent& e) {
  if (failed(e) || !e.has_range) return false;
  if (e.name == "mmap") return e.args[3] & (MAP_POPULATE | MAP_LOCKED);
  if (e.name == "madvise")
    return e.args[2] == MADV_POPULATE_READ || e.args[2] == MADV_POPULATE_WRITE ||
           e.args[2] == MADV_WILLNEED;
  if (e.name == "mlock") return true;
  if (e.name == "mlock2") return !(e.args[2] & MLOCK_ONFAULT);
  return false;
}

std::string readahead_kind(std::string_view k) {
  if (k == "ra_sync") return "sync";
  if (k == "ra_async") return "async";
  if (k == "ra_order") return "order";
  if (k == "ra_unbounded") return "unbounded";
  return "";
}

}  // namespace

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

recording::Recording make_recording(const RecordingInputs& in) {
  recording::Recording r;
  auto& h = r.header;
  struct stat st;
  if (::stat(in.file.c_str(), &st) != 0)
    throw recording::RecordingError(fmt::format("{}: {}", in.file, std::strerror(errno)));
  char abs[PATH_MAX];
  h.path = ::realpath(in.file.c_str(), abs) ? abs : in.file;
  h.file_bytes = std::uint64_t(st.st_size);
  h.dev = st.st_dev;
  h.ino = st.st_ino;
  h.command = in.command;
  h.recorded_at = in.recorded_at;

  std::vector<Event> ev;
  bool mapped = false;
  auto clip = [&](std::uint64_t off, std::uint64_t bytes) {  // a range inside the file
    if (off >= h.file_bytes) return std::uint64_t(0);
    return std::min(bytes, h.file_bytes - off);
  };
  // Which open of the model each read went through: (tgid, fd) -> 1, 2, ...
  // numbered as opens are seen (a descriptor opened before the trace gets its
  // number at its first read).
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint32_t> open_of;
  std::uint32_t opens = 0;
  if (in.calls)
    for (const auto& e : *in.calls) {
      if ((e.name == "openat" || e.name == "open") && !failed(e)) {
        open_of[{e.tgid, std::uint64_t(e.ret)}] = ++opens;
      } else if (is_read(e.name)) {
        if (e.ret >= 0) {
          auto [it, fresh] = open_of.try_emplace({e.tgid, e.args[0]}, 0);
          if (fresh) it->second = ++opens;
          Event r{e.enter_ns, e.tid, Op::kRead, e.file_offset, std::uint64_t(e.ret), e.name};
          r.file = it->second;
          r.dur_ns = e.exit_ns >= e.enter_ns ? e.exit_ns - e.enter_ns : 0;
          ev.push_back(std::move(r));
        }
        continue;
      }
      if (e.name == "close") continue;  // not one of the recorded calls
      if (e.name == "mmap" && !failed(e)) mapped = true;
      Event s{e.enter_ns, e.tid, Op::kSyscall, 0, 0, e.name, e.ret, args_of(e)};
      ev.push_back(std::move(s));
      if (populates(e))
        if (const std::uint64_t b = clip(e.file_offset, e.file_bytes))
          ev.push_back({e.exit_ns, e.tid, Op::kPopulate, e.file_offset, b, e.name});
    }
  if (in.timeline)
    for (const auto& t : *in.timeline) {
      if (t.ino != h.ino) continue;
      const std::uint64_t off = t.index * 4096;
      if (t.kind == "filemap_fault")
        ev.push_back({t.ts_ns, t.tid, Op::kFault, off, 4096, ""});
      else if (t.kind == "faultaround")
        ev.push_back({t.ts_ns, t.tid, Op::kFaultAround, off, t.nr * 4096, ""});
      else if (auto kind = readahead_kind(t.kind); !kind.empty())
        ev.push_back({t.ts_ns, t.tid, Op::kReadahead, off, t.nr * 4096, kind});
    }
  std::stable_sort(ev.begin(), ev.end(),
                   [](const Event& a, const Event& b) { return a.t_ns < b.t_ns; });
  const std::uint64_t t0 = ev.empty() ? 0 : ev.front().t_ns;
  std::set<std::uint32_t> tids;
  for (auto& e : ev) {
    e.t_ns -= t0;
    if (e.op == Op::kRead || e.op == Op::kFault || e.op == Op::kPopulate) tids.insert(e.tid);
  }
  h.threads = std::max<int>(1, int(tids.size()));
  r.events = std::move(ev);

  auto& c = h.complete;
  c.reads = in.syscalls_measured && in.syscalls_dropped == 0;
  c.populate = in.syscalls_measured && in.syscalls_dropped == 0;
  c.faults = !in.faults_measured ? "none" : (mapped || in.timeline_stride > 1) ? "sampled" : "all";
  c.readahead = in.readahead_measured && in.timeline_dropped == 0 && in.timeline_stride == 1;
  c.dropped_events = in.syscalls_dropped + in.timeline_dropped;
  std::vector<std::string> notes;
  if (mapped)
    notes.push_back(
        "faults are a coarse sample of what a mapping touches: readahead, fault-around and PMD "
        "mappings map pages without a fault of their own, MAP_POPULATE leaves none; populate and "
        "readahead events say what the kernel did besides");
  if (!in.syscalls_measured) notes.push_back("the syscall log was not measured: no reads or calls");
  if (in.syscalls_dropped)
    notes.push_back(fmt::format("{} syscall events lost (ring buffer full)", in.syscalls_dropped));
  if (in.timeline_dropped)
    notes.push_back(fmt::format("{} timeline events lost (ring buffer full: raise --timeline-mib)",
                                in.timeline_dropped));
  c.note = fmt::format("{}", fmt::join(notes, "; "));
  return r;
}

}  // namespace faultline::harness
