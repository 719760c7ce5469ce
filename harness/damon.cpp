// damon_pageout(): running DAMON pageout schemes, from sysfs (damon.h).
#include "harness/damon.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/size.h"

namespace faultline::harness {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_word(const fs::path& p) {
  std::ifstream in(p);
  std::string w;
  if (!(in >> w)) return std::nullopt;
  return w;
}

std::optional<unsigned long long> read_number(const fs::path& p) {
  auto w = read_word(p);
  if (!w) return std::nullopt;
  try {
    std::size_t used = 0;
    unsigned long long v = std::stoull(*w, &used);
    if (used != w->size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// errno of opening `p` for reading (0: it opens).
int open_error(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// The numbered entries of a sysfs folder ("0", "1", ...), in order.
std::vector<fs::path> numbered(const fs::path& dir) {
  std::vector<fs::path> out;
  for (unsigned i = 0;; ++i) {
    fs::path p = dir / std::to_string(i);
    std::error_code ec;
    if (!fs::is_directory(p, ec)) break;
    out.push_back(p);
  }
  return out;
}

std::string seconds(double s) {
  return s >= 1 ? fmt::format("{:g} s", s) : fmt::format("{:g} ms", s * 1e3);
}

// "anon rejected, unmapped allowed" from a scheme's filters folders.
std::string filters_of(const fs::path& scheme) {
  std::string out;
  for (const char* kind : {"ops_filters", "core_filters", "filters"})
    for (const auto& f : numbered(scheme / kind)) {
      auto type = read_word(f / "type");
      if (!type) continue;
      const bool matching = read_word(f / "matching").value_or("Y") == "Y";
      const bool allow = read_word(f / "allow").value_or("N") == "Y";
      out += fmt::format("{}{}{} {}", out.empty() ? "" : ", ", matching ? "" : "non-", *type,
                         allow ? "allowed" : "rejected");
    }
  return out;
}

std::string scheme_sentence(const fs::path& kdamond, const fs::path& ctx, const fs::path& scheme) {
  const std::string id = kdamond.filename().string();
  const std::string pid = read_word(kdamond / "pid").value_or("?");
  const std::string ops = read_word(ctx / "operations").value_or("?");
  const auto aggr_us = read_number(ctx / "monitoring_attrs/intervals/aggr_us");
  const auto age = read_number(scheme / "access_pattern/age/min");
  std::string what = ops == "paddr" ? "physical memory" : "the target's memory (" + ops + ")";
  std::string text = fmt::format("kdamond {} (pid {}): pageout of {}", id, pid, what);
  const auto max_accesses = read_number(scheme / "access_pattern/nr_accesses/max");
  const std::string accessed = max_accesses && *max_accesses > 0
                                   ? fmt::format("accessed in at most {} sample{} per aggregation",
                                                 *max_accesses, *max_accesses == 1 ? "" : "s")
                                   : "not accessed";
  if (age && aggr_us)
    text += fmt::format(" {} for {} ({} aggregations of {})", accessed,
                        seconds(double(*age) * double(*aggr_us) / 1e6), *age,
                        seconds(double(*aggr_us) / 1e6));
  const auto bytes = read_number(scheme / "quotas/bytes");
  const auto reset_ms = read_number(scheme / "quotas/reset_interval_ms");
  if (bytes && *bytes > 0 && reset_ms)
    text += fmt::format(", at most {} per {}", format_size(*bytes), seconds(*reset_ms / 1e3));
  if (std::string f = filters_of(scheme); !f.empty()) text += "; filters: " + f;
  if (const auto metric = read_word(scheme / "watermarks/metric"); metric && *metric != "none")
    text += fmt::format("; only while {} is within its watermarks (high {}, low {})", *metric,
                        read_word(scheme / "watermarks/high").value_or("?"),
                        read_word(scheme / "watermarks/low").value_or("?"));
  text += fmt::format("; stop it with echo off > {}", (kdamond / "state").string());
  return text;
}

}  // namespace

DamonPageout damon_pageout(const std::string& sys) {
  DamonPageout out;
  const fs::path root = fs::path(sys) / "kernel/mm/damon/admin/kdamonds";
  for (const auto& k : numbered(root)) {
    const auto state = read_word(k / "state");
    if (!state) {
      if (const int err = open_error(k / "state"); err == EACCES || err == EPERM)
        out.unknown = fmt::format("{}: {} (run as root to see DAMON's schemes)",
                                  (k / "state").string(), std::strerror(err));
      continue;
    }
    if (*state != "on") continue;
    for (const auto& ctx : numbered(k / "contexts"))
      for (const auto& scheme : numbered(ctx / "schemes"))
        if (read_word(scheme / "action").value_or("") == "pageout")
          out.schemes.push_back(scheme_sentence(k, ctx, scheme));
  }
  const fs::path reclaim = fs::path(sys) / "module/damon_reclaim/parameters";
  if (read_word(reclaim / "enabled").value_or("N") == "Y") {
    std::string text = "damon_reclaim (the kernel module): pageout of memory";
    if (auto age_us = read_number(reclaim / "min_age"))
      text += fmt::format(" not accessed for {}", seconds(double(*age_us) / 1e6));
    text += fmt::format("; stop it with echo N > {}", (reclaim / "enabled").string());
    out.schemes.push_back(text);
  }
  if (!out.schemes.empty()) out.unknown.clear();  // what was seen is known
  return out;
}

nlohmann::json damon_json(const DamonPageout& d) {
  if (!d.unknown.empty()) return "unknown: " + d.unknown;
  return d.schemes;
}

}  // namespace faultline::harness
