#include "harness/syscall_report.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "benchmarks/strategy.h"
#include "benchmarks/tensor_plan.h"
#include "common/size.h"
#include "harness/syscall_flags.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

using bpf::SyscallEvent;

bool is_read(const std::string& n) {
  return n == "read" || n == "pread64" || n == "readv" || n == "preadv";
}

bool is_open(const std::string& n) {
  return n == "openat" || n == "open";
}

std::string range(std::uint64_t off, std::uint64_t bytes) {
  return fmt::format("[{}, {})", format_size(off), format_size(off + bytes));
}

// What glibc's buffered stdio (fseek + fread with its st_blksize buffer, 4 KiB
// here; llama.cpp's llama_file) turns reads into: whole 4 KiB blocks from a
// block boundary or from where the stream's last read ended (buffer fills
// and the whole blocks fread reads straight into the destination); a
// sub-page read from a block boundary that the next read continues (the
// exact fill of fseek into an empty buffer, up to where the range begins);
// and a short read at the end of the file. Which of these a load makes
// depends on what the buffer holds when it seeks (a seek inside it makes no
// call at all), so the mark is the shape of every read, not one pattern.
constexpr std::uint64_t kStdioBlock = 4096;

ReadStats read_stats(const std::vector<SyscallEvent>& calls) {
  ReadStats r;
  std::vector<std::uint64_t> sizes;
  std::map<std::uint32_t, std::uint64_t> next;          // tid -> where its last read ended
  std::map<std::uint32_t, std::uint64_t> pending_head;  // tid -> end of a sub-page read
  for (const auto& e : calls) {
    if (!is_read(e.name) || e.ret <= 0) continue;
    ++r.calls[e.name];
    ++r.count;
    r.bytes += e.file_bytes;
    sizes.push_back(e.file_bytes);
    auto it = next.find(e.tid);
    const bool continues = it != next.end() && it->second == e.file_offset;
    if (continues) ++r.sequential;
    if (auto head = pending_head.find(e.tid); head != pending_head.end()) {
      if (head->second == e.file_offset) ++r.stdio_shaped;
      pending_head.erase(head);
    }
    const bool plain = e.name == "read" || e.name == "pread64";
    const bool aligned = e.file_offset % kStdioBlock == 0;
    if (plain && e.file_bytes % kStdioBlock == 0 && (aligned || continues))
      ++r.stdio_shaped;
    else if (plain && e.file_bytes < e.args[2])  // short: the end of the file
      ++r.stdio_shaped;
    else if (plain && e.file_bytes < kStdioBlock && aligned)
      pending_head[e.tid] = e.file_offset + e.file_bytes;  // shaped if the next read continues it
    next[e.tid] = e.file_offset + e.file_bytes;
    std::uint64_t floor = 1;
    while (floor * 2 <= e.file_bytes) floor *= 2;
    ++r.size_hist[floor];
  }
  r.threads = int(next.size());
  if (sizes.empty()) return r;
  r.distinct_sizes = std::set<std::uint64_t>(sizes.begin(), sizes.end()).size();
  std::sort(sizes.begin(), sizes.end());
  r.min_bytes = sizes.front();
  r.max_bytes = sizes.back();
  r.p50_bytes = sizes[(sizes.size() - 1) / 2];
  return r;
}

bool measured(const bpf::TraceCounters& c, std::string_view metric) {
  return !c.availability.not_measured.contains(std::string(metric));
}

}  // namespace

bool failed(const SyscallEvent& e) {
  return e.ret < 0 && e.ret >= -4095;
}

ClosestStrategy closest_strategy(const std::vector<SyscallEvent>& calls, const ReadStats& reads,
                                 const bpf::TraceCounters& counters) {
  ClosestStrategy c;
  const SyscallEvent* map = nullptr;  // the largest mapping
  for (const auto& e : calls)
    if (e.name == "mmap" && !failed(e) && (!map || e.file_bytes > map->file_bytes)) map = &e;
  bool direct = false;
  for (const auto& e : calls)
    if ((is_open(e.name) || is_read(e.name)) && (e.file_flags & O_DIRECT)) direct = true;
  std::string spec;
  if (map) {
    spec = (map->args[3] & 0x0f) == MAP_PRIVATE ? "mmap:private" : "mmap:shared";
    if (map->args[3] & MAP_POPULATE) spec += ",populate";
    std::set<std::string> fadvise, madvise;
    for (const auto& e : calls) {
      if (failed(e)) continue;
      if (e.name == "fadvise64") {
        const std::string key = fadvise_key(e.args[3]);
        if (key.empty() || (fadvise.size() && !fadvise.contains(key)))
          c.notes.push_back(fadvise_advice(e.args[3]) + " is not in the spec");
        else if (fadvise.empty() && (spec += ",fadvise=" + key, true))
          fadvise.insert(key);
      } else if (e.name == "madvise") {
        const std::string key = madvise_key(e.args[2]);
        if (key.empty() || (madvise.size() && !madvise.contains(key)))
          c.notes.push_back(madvise_advice(e.args[2]) + " is not in the spec");
        else if (madvise.empty() && (spec += ",advise=" + key, true))
          madvise.insert(key);
      }
    }
    // Keys in canonical order come from the parser; ours are in call order.
    int locks = 0, lock_failures = 0;
    for (const auto& e : calls)
      if (e.name == "mlock" || e.name == "mlock2") ++locks, lock_failures += e.ret != 0;
    if (locks) spec += locks > 1 || lock_failures ? ",mlock=soft" : ",mlock";
    if (reads.count)
      c.notes.push_back(fmt::format("it also read {} of the file with {} calls",
                                    format_size(reads.bytes), reads.count));
    if (direct) c.notes.push_back("it also opened the file with O_DIRECT");
  } else if (reads.count) {
    if (direct) {
      spec = "direct";
    } else if (reads.distinct_sizes > 2 || reads.sequential + reads.threads < reads.count) {
      // Each range its own read (per tensor), not one chunked pass; through
      // buffered stdio when (nearly) every read has its shape (the rest: a
      // runtime's own reads of the header, as node-llama-cpp's pread).
      const bool stdio = reads.count >= 4 && reads.stdio_shaped * 20 >= reads.count * 19;
      spec = stdio ? "read:tensors=stdio" : "read:tensors";
      if (stdio)
        c.notes.push_back(fmt::format(
            "{} of the {} reads are 4 KiB-block fills, whole blocks or the sub-page fill up to "
            "where the next read begins: buffered stdio (fseek + fread)",
            reads.stdio_shaped, reads.count));
    } else {
      spec = "read";
    }
    if (reads.threads > 1)
      c.notes.push_back(fmt::format("{} threads read the file", reads.threads));
  } else {
    namespace m = faultline::metric;
    const bool pages_in =
        (measured(counters, m::kBpfPagecacheAddPages) && counters.pagecache_add_pages) ||
        (measured(counters, m::kBpfBioBytes) && counters.bio_bytes);
    if (pages_in) {
      spec = "uring";
      c.notes.push_back(fmt::format(
          "no read calls and no mappings, yet {} pages of the file came in ({} from storage): "
          "io_uring reads bypass the syscalls (or another path: sendfile, splice, "
          "copy_file_range); `uring` is a guess",
          counters.pagecache_add_pages, format_size(counters.bio_bytes)));
    } else {
      c.notes.push_back("no read calls and no mappings of the file");
    }
  }
  if (spec.empty()) return c;
  try {
    Strategy s = parse_strategy(spec);
    c.spec = to_string(s);
    // Copying tensors out of a mapping (copy=) is memcpy, not a syscall: a
    // preset that copies matches the calls it makes, and the note says so.
    bool copies = false;
    for (const auto& p : presets()) {
      Strategy e = parse_strategy(p.expansion);
      const bool copy = e.copy.has_value();
      e.copy.reset();
      if (to_string(e) != c.spec) continue;
      c.presets.push_back(p.name);
      copies |= copy;
    }
    if (copies)
      c.notes.push_back(fmt::format(
          "copies out of the mapping (copy=, llama.cpp's weight repacking; on this CPU "
          "copy=repack takes {}) make no syscall: RSS anon (rss_anon_bytes) says whether the "
          "program copied",
          describe(host_repack_cpu())));
  } catch (const std::invalid_argument& e) {
    c.notes.push_back(fmt::format("{} does not parse: {}", spec, e.what()));
  }
  return c;
}

SyscallReport make_syscall_report(std::vector<SyscallEvent> calls, std::uint64_t dropped,
                                  std::optional<std::string> not_measured,
                                  const bpf::TraceCounters& counters) {
  SyscallReport r;
  std::stable_sort(calls.begin(), calls.end(),
                   [](const auto& a, const auto& b) { return a.enter_ns < b.enter_ns; });
  r.calls = std::move(calls);
  r.dropped = dropped;
  r.not_measured = std::move(not_measured);
  if (r.not_measured) return r;
  r.reads = read_stats(r.calls);
  r.closest = closest_strategy(r.calls, r.reads, counters);
  return r;
}

namespace {

// One line per call, in file terms (shared by the summary and JSON).
nlohmann::json call_args(const SyscallEvent& e) {
  nlohmann::json a = nlohmann::json::object();
  const auto& n = e.name;
  if (is_open(n)) {
    a["flags"] = open_flags(n == "openat" ? e.args[2] : e.args[1]);
  } else if (n == "mmap") {
    a["prot"] = mmap_prot(e.args[2]);
    a["flags"] = mmap_flags(e.args[3]);
  } else if (n == "madvise") {
    a["advice"] = madvise_advice(e.args[2]);
  } else if (n == "fadvise64") {
    a["advice"] = fadvise_advice(e.args[3]);
  } else if (n == "mlock2") {
    a["flags"] = mlock2_flags(e.args[2]);
  } else if (n == "close" || is_read(n)) {
    a["fd"] = std::int64_t(std::int32_t(e.args[0]));
  }
  if (e.has_range) {
    a["offset"] = e.file_offset;
    a["bytes"] = e.file_bytes;
  }
  return a;
}

// The mapping a munmap cuts into: "fragment" unless it unmaps a whole mapping.
bool whole_mapping(const std::vector<SyscallEvent>& calls, const SyscallEvent& u) {
  for (const auto& e : calls)
    if (e.name == "mmap" && !failed(e) && std::uint64_t(e.ret) == u.args[0] &&
        e.file_bytes == u.args[1])
      return true;
  return false;
}

std::string describe(const std::vector<SyscallEvent>& calls, const SyscallEvent& e) {
  const nlohmann::json a = call_args(e);
  std::string s;
  std::vector<std::string> parts;
  for (const char* k : {"prot", "flags", "advice"})
    if (a.contains(k)) parts.push_back(a[k].get<std::string>());
  if (e.name == "fadvise64" && e.file_bytes == 0)
    parts.push_back(fmt::format("[{}, end)", format_size(e.file_offset)));
  else if (e.has_range && !is_read(e.name))
    parts.push_back(range(e.file_offset, e.file_bytes));
  if (e.name == "munmap")
    parts.push_back(whole_mapping(calls, e) ? "(a whole mapping)" : "(a fragment)");
  if (failed(e)) parts.push_back(fmt::format("-> error {}", -e.ret));
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace

void print_syscall_report(std::FILE* out, const SyscallReport& r) {
  if (r.not_measured) {
    fmt::print(out, "  syscalls     not measured: {}\n", *r.not_measured);
    return;
  }
  std::map<std::string, std::uint64_t> per_call;
  for (const auto& e : r.calls) ++per_call[e.name];
  std::string counts;
  for (const auto& [n, k] : per_call)
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", k, n);
  fmt::print(out, "  syscalls     on the file: {}{}\n", counts.empty() ? "none" : counts,
             r.dropped ? fmt::format(" ({} more lost: ring buffer full)", r.dropped) : "");
  // Each distinct non-read call once, with how often, in order of first use.
  std::vector<std::pair<std::string, std::uint64_t>> lines;
  for (const auto& e : r.calls) {
    if (is_read(e.name) || e.name == "close") continue;
    const std::string l = fmt::format("{:<10} {}", e.name, describe(r.calls, e));
    auto it = std::find_if(lines.begin(), lines.end(), [&](const auto& p) { return p.first == l; });
    if (it != lines.end())
      ++it->second;
    else
      lines.emplace_back(l, 1);
  }
  const std::size_t kMax = 12;
  for (std::size_t i = 0; i < lines.size() && i < kMax; ++i)
    fmt::print(out, "    {}{}\n", lines[i].first,
               lines[i].second > 1 ? fmt::format("  x{}", lines[i].second) : "");
  if (lines.size() > kMax) fmt::print(out, "    ... and {} more\n", lines.size() - kMax);
  const ReadStats& rd = r.reads;
  if (rd.count) {
    std::string calls;
    for (const auto& [n, k] : rd.calls)
      calls += fmt::format("{}{} x{}", calls.empty() ? "" : ", ", n, k);
    fmt::print(out,
               "    reads      {}: {} in all; size min {} p50 {} max {}; {} of {} start where "
               "the thread's last one ended; {} thread{}\n",
               calls, format_size(rd.bytes), format_size(rd.min_bytes), format_size(rd.p50_bytes),
               format_size(rd.max_bytes), rd.sequential, rd.count, rd.threads,
               rd.threads == 1 ? "" : "s");
    std::string hist;
    for (const auto& [floor, k] : rd.size_hist)
      hist += fmt::format("{}{}+:{}", hist.empty() ? "" : " ", format_size(floor), k);
    fmt::print(out, "               sizes {}\n", hist);
  }
  const ClosestStrategy& c = r.closest;
  if (!c.spec.empty())
    fmt::print(
        out, "  closest      this looks like `{}`{}\n", c.spec,
        c.presets.empty() ? "" : fmt::format(" = preset `{}`", fmt::join(c.presets, "`, `")));
  for (const auto& n : c.notes) fmt::print(out, "               note: {}\n", n);
}

nlohmann::json syscall_json(const SyscallReport& r) {
  nlohmann::json j;
  if (r.not_measured) {
    j["not_measured"] = *r.not_measured;
    return j;
  }
  j["dropped"] = r.dropped;
  auto calls = nlohmann::json::array();
  for (const auto& e : r.calls) {
    nlohmann::json c = {{"t_ns", e.enter_ns},  {"exit_ns", e.exit_ns}, {"tid", e.tid},
                        {"tgid", e.tgid},      {"name", e.name},       {"ret", e.ret},
                        {"args", call_args(e)}};
    calls.push_back(std::move(c));
  }
  j["calls"] = std::move(calls);
  const ReadStats& rd = r.reads;
  nlohmann::json hist = nlohmann::json::object();
  for (const auto& [floor, k] : rd.size_hist) hist[std::to_string(floor)] = k;
  j["reads"] = {
      {"calls", rd.calls},           {"count", rd.count},         {"bytes", rd.bytes},
      {"min_bytes", rd.min_bytes},   {"p50_bytes", rd.p50_bytes}, {"max_bytes", rd.max_bytes},
      {"sequential", rd.sequential}, {"threads", rd.threads},     {"size_hist", hist}};
  j["closest"] = {
      {"spec", r.closest.spec.empty() ? nlohmann::json() : nlohmann::json(r.closest.spec)},
      {"presets", r.closest.presets},
      {"notes", r.closest.notes}};
  return j;
}

}  // namespace faultline::harness
