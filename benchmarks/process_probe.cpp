// Process probes: /proc/self/status, getrusage, /proc/self/io, smaps_rollup,
// clear_refs. Each file is read with one open/read into a stack buffer and
// parsed in place, so a sample costs a few microseconds and no allocation.
#include "benchmarks/process_probe.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace faultline {
namespace {

// Reads up to N-1 bytes of a /proc file into buf; returns the text read, or
// an empty view when the file cannot be read.
template <std::size_t N>
std::string_view read_proc(const char* path, char (&buf)[N]) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::size_t len = 0;
  while (len < N - 1) {
    const ssize_t n = ::read(fd, buf + len, N - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return {buf, len};
}

// Calls fn(key, value) for every "Key:   123 kB" (or "key: 123") line.
template <typename Fn>
void for_each_field(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    const std::size_t digit = rest.find_first_not_of(" \t");
    if (digit == std::string_view::npos) continue;
    rest.remove_prefix(digit);
    std::uint64_t value = 0;
    if (std::from_chars(rest.data(), rest.data() + rest.size(), value).ec == std::errc{})
      fn(key, value);
  }
}

constexpr std::uint64_t kKiB = 1024;

}  // namespace

ProcessSample sample_process() {
  ProcessSample s;
  char buf[8192];
  std::string_view status = read_proc("/proc/self/status", buf);
  s.status = status.find("VmRSS:") != std::string_view::npos;
  for_each_field(status, [&](std::string_view key, std::uint64_t v) {
    if (key == "VmRSS")
      s.rss_bytes = v * kKiB;
    else if (key == "RssFile")
      s.rss_file_bytes = v * kKiB;
    else if (key == "RssAnon")
      s.rss_anon_bytes = v * kKiB;
    else if (key == "RssShmem")
      s.rss_shmem_bytes = v * kKiB;
    else if (key == "VmHWM")
      s.peak_rss_bytes = v * kKiB;
  });
  for_each_field(read_proc("/proc/self/io", buf), [&](std::string_view key, std::uint64_t v) {
    if (key == "read_bytes") {
      s.read_bytes = v;
      s.io = true;
    } else if (key == "rchar") {
      s.rchar = v;
    }
  });
  struct rusage ru {};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    s.rusage = true;
    s.minor_faults = static_cast<std::uint64_t>(ru.ru_minflt);
    s.major_faults = static_cast<std::uint64_t>(ru.ru_majflt);
  }
  return s;
}

std::optional<std::uint64_t> sample_pss() {
  char buf[4096];
  std::optional<std::uint64_t> pss;
  for_each_field(read_proc("/proc/self/smaps_rollup", buf),
                 [&](std::string_view key, std::uint64_t v) {
                   if (key == "Pss") pss = v * kKiB;
                 });
  return pss;
}

bool reset_peak_rss(std::string* why) {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (why)
      *why = std::string("/proc/self/clear_refs: ") + std::strerror(errno) +
             " (a kernel without CONFIG_PROC_PAGE_MONITOR has none): VmHWM cannot be reset";
    return false;
  }
  const bool ok = ::write(fd, "5", 1) == 1;
  const int err = errno;
  ::close(fd);
  if (!ok && why)
    *why = std::string("/proc/self/clear_refs refused \"5\" (") + std::strerror(err) +
           "; Linux 4.0+ resets VmHWM so): the peak since the process started is not the load's";
  return ok;
}

}  // namespace faultline
