#include "common/host_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace faultline {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Read-write when we may, else read-only (flock needs no write right; only
// the description does). Never follows a symlink planted in /run/lock.
UniqueFd open_lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid()) (void)::fchmod(fd, 0666);
    return UniqueFd(fd);
  }
  // fs.protected_regular refuses O_CREAT on another user's file in a sticky
  // folder; opening it without O_CREAT is allowed.
  if (errno == EACCES) fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EPERM))
    fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("cannot open the host lock {}: {} (set FAULTLINE_LOCK_FILE to a file every "
                    "faultline user can open)",
                    path, std::strerror(errno)));
  return UniqueFd(fd);
}

std::string read_description(int fd) {
  char buf[1024];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, std::size_t(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text.empty() ? "another process (it left no description)" : text;
}

}  // namespace

std::string HostLock::path() {
  if (const char* p = std::getenv("FAULTLINE_LOCK_FILE"); p && *p) return p;
  if (::access("/run/lock", W_OK | X_OK) == 0) return "/run/lock/faultline.lock";
  return "/tmp/faultline.lock";
}

std::optional<std::string> HostLock::holder() {
  int fd = ::open(path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd guard(fd);
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return std::nullopt;
  }
  return read_description(fd);
}

HostLock::HostLock(const Options& o) {
  if (const char* held = std::getenv(kHostLockHeldEnv); held && std::string(held) == "held")
    return;  // our parent holds it for us
  const std::string file = path();
  UniqueFd fd = open_lock_file(file);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      throw std::runtime_error(fmt::format("flock({}): {}", file, std::strerror(errno)));
    const std::string who = read_description(fd.get());
    if (!o.wait)
      throw std::runtime_error(fmt::format(
          "another measuring run holds the host lock {}: {}; it changes the page cache and "
          "cold caches of this whole machine, so faultline measures one run at a time",
          file, who));
    if (o.on_wait) o.on_wait(who);
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        throw std::runtime_error(fmt::format("flock({}): {}", file, std::strerror(errno)));
      if (o.give_up && o.give_up())
        throw std::runtime_error(fmt::format("gave up waiting for the host lock {}", file));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  fd_ = std::move(fd);
  describe(o.what);
  ::setenv(kHostLockHeldEnv, "held", 1);  // our children are covered by it
}

void HostLock::describe(const std::string& what) {
  if (!fd_) return;
  const std::string text =
      fmt::format("pid {} (uid {}) since {}: {}\n", ::getpid(), ::getuid(), utc_now(), what);
  if (::ftruncate(fd_.get(), 0) == 0) (void)!::pwrite(fd_.get(), text.data(), text.size(), 0);
}

HostLock::~HostLock() {
  if (!fd_) return;
  (void)!::ftruncate(fd_.get(), 0);
  ::unsetenv(kHostLockHeldEnv);
  // Closing the descriptor releases the flock.
}

}  // namespace faultline
