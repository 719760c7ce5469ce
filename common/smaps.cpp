// read_smaps(): /proc/PID/smaps into its mappings (smaps.h).
#include "common/smaps.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace faultline {
namespace {

// "start-end perms offset MM:mm inode [path]" -> true and m's header.
bool parse_header(std::string_view line, SmapsMapping& m) {
  unsigned long long start = 0, end = 0, offset = 0, inode = 0;
  unsigned major = 0, minor = 0;
  char perms[8] = {};
  int used = 0;
  const std::string l(line);
  if (std::sscanf(l.c_str(), "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &offset,
                  &major, &minor, &inode, &used) != 7)
    return false;
  m = SmapsMapping{};
  m.start = start;
  m.end = end;
  m.offset = offset;
  m.perms = perms;
  m.major = major;
  m.minor = minor;
  m.inode = inode;
  std::string_view rest = line.substr(static_cast<std::size_t>(used));
  const auto b = rest.find_first_not_of(' ');
  m.path = b == std::string_view::npos ? "" : std::string(rest.substr(b));
  return true;
}

// "Rss:   1234 kB" -> ("Rss", 1234).
bool parse_field(std::string_view line, std::string& key, std::uint64_t& kib) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  key.assign(line.substr(0, colon));
  if (key.find(' ') != std::string::npos) return false;
  std::string_view v = line.substr(colon + 1);
  const auto b = v.find_first_not_of(' ');
  if (b == std::string_view::npos) return false;
  v = v.substr(b);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), kib);
  return ec == std::errc() && std::string_view(p, v.data() + v.size() - p).starts_with(" kB");
}

}  // namespace

std::uint64_t SmapsMapping::bytes(std::string_view field) const {
  auto it = kib.find(field);
  return it == kib.end() ? 0 : it->second * 1024;
}

std::optional<FileKey> file_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::error_code ec;
  auto canonical = std::filesystem::canonical(path, ec);
  return FileKey{st.st_dev, st.st_ino, ec ? path : canonical.string()};
}

bool SmapsMapping::maps(const FileKey& file) const {
  if (inode == 0 || inode != std::uint64_t(file.ino)) return false;
  return ::makedev(major, minor) == file.dev || (!file.path.empty() && path == file.path);
}

std::vector<SmapsMapping> parse_smaps(std::string_view text) {
  std::vector<SmapsMapping> out;
  std::string key;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    SmapsMapping m;
    std::uint64_t kib = 0;
    if (parse_field(line, key, kib)) {
      if (!out.empty()) out.back().kib[key] = kib;
    } else if (parse_header(line, m)) {
      out.push_back(std::move(m));
    }
  }
  return out;
}

std::vector<SmapsMapping> read_smaps(pid_t pid, std::string_view file) {
  std::ifstream in((pid == 0 ? std::string("/proc/self/") : "/proc/" + std::to_string(pid) + "/") +
                   std::string(file));
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_smaps(ss.str());
}

std::uint64_t file_field_bytes(const std::vector<SmapsMapping>& maps, const FileKey& file,
                               std::string_view field) {
  std::uint64_t sum = 0;
  for (const auto& m : maps)
    if (m.maps(file)) sum += m.bytes(field);
  return sum;
}

}  // namespace faultline
