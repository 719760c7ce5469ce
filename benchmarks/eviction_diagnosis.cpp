#include "benchmarks/eviction_diagnosis.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "common/size.h"
#include "common/smaps.h"

namespace faultline {
namespace {

std::string read_comm(const std::string& dir) {
  std::ifstream in(dir + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "?" : comm;
}

}  // namespace

FileMappers find_mappers(const std::string& path) {
  const std::optional<FileKey> file = file_key(path);
  if (!file) throw std::system_error(errno, std::generic_category(), fmt::format("stat({})", path));
  FileMappers out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc{} || pid <= 0)
      continue;
    const std::string dir = entry.path().string();
    // The kernel checks ptrace access when maps is opened: another user's
    // process (unless we are root) refuses, and may map the file unseen.
    if (const int fd = ::open((dir + "/maps").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
      ::close(fd);
    } else {
      if (errno == EACCES || errno == EPERM) ++out.hidden;
      continue;
    }
    FileMapper m;
    for (const auto& map : read_smaps(pid, "maps"))  // gone, or a kernel thread: none
      if (map.maps(*file)) m.mapped_bytes += map.end - map.start;
    if (m.mapped_bytes == 0) continue;
    m.pid = pid;
    m.comm = read_comm(dir);
    m.locked_bytes = file_field_bytes(read_smaps(pid), *file, "Locked");
    out.found.push_back(std::move(m));
  }
  return out;
}

std::string why_resident(const std::string& path, const Residency& r) {
  std::vector<std::string> why;
  if (r.dirty_known && (r.dirty_pages > 0 || r.writeback_pages > 0))
    why.push_back(fmt::format(
        "{} of its pages are dirty and {} under writeback even after writing it back (a process "
        "is writing the file? wait for it, then `sync`)",
        r.dirty_pages, r.writeback_pages));
  FileMappers mappers;
  try {
    mappers = find_mappers(path);
  } catch (const std::exception& e) {
    why.push_back(e.what());
  }
  if (!mappers.found.empty()) {
    std::string who;
    bool any_locked = false;
    for (const auto& m : mappers.found) {
      if (!who.empty()) who += ", ";
      who += fmt::format("pid {} ({}, maps {}", m.pid, m.comm, format_size(m.mapped_bytes));
      if (m.locked_bytes) {
        who += fmt::format(", {} locked with mlock", format_size(m.locked_bytes));
        any_locked = true;
      }
      who += ")";
    }
    why.push_back(fmt::format(
        "mapped by {}: the kernel does not evict pages a process maps{}; end that process or "
        "have it unmap the file",
        who, any_locked ? " or locks" : ""));
  } else {
    std::string none = "no process found mapping it";
    if (mappers.hidden > 0)
      none +=
          fmt::format(", but the memory maps of {} processes are hidden from this one (uid {}: {})",
                      mappers.hidden, ::geteuid(),
                      ::geteuid() == 0 ? "they hold capabilities it lacks"
                                       : "other users' processes; run as root to see them");
    none += "; a process reading the file, or another run dropping caches, brings pages back";
    why.push_back(none);
  }
  if (!r.dirty_known)
    why.push_back(fmt::format(
        "dirty pages cannot be counted without cachestat(2) ({} residency); `sync` and retry",
        r.method));
  std::string text;
  for (const auto& w : why) text += (text.empty() ? "" : "; ") + w;
  return text;
}

}  // namespace faultline
