#include "common/credentials.h"

#include "common/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace faultline {
namespace {

std::optional<unsigned> env_id(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  unsigned id = 0;
  const char* end = v + std::char_traits<char>::length(v);
  auto [p, ec] = std::from_chars(v, end, id);
  if (ec != std::errc() || p != end)
    throw std::invalid_argument(fmt::format("{}='{}' is not a numeric id", name, v));
  return id;
}

// Runs `check` in a child that has become `user` (common/process.h); its
// answer is an errno or 0 (EIO when the child was killed).
template <class F>
int as_user(const Credentials& user, F check) {
  try {
    const int code = call_in_child(check, &user);
    return code < 0 ? EIO : code;
  } catch (const SpawnError& e) {
    throw std::runtime_error(e.what());
  } catch (const std::system_error& e) {
    return e.code().value();  // no fork
  }
}

}  // namespace

std::string Credentials::describe() const {
  return fmt::format("{} (uid {})", name, uid);
}

std::optional<Credentials> invoking_user() {
  const auto uid = env_id("SUDO_UID");
  const auto gid = env_id("SUDO_GID");
  if (::geteuid() != 0 || !uid || *uid == 0) return std::nullopt;
  Credentials c;
  c.uid = *uid;
  c.name = fmt::format("uid {}", c.uid);
  const passwd* pw = ::getpwuid(c.uid);
  c.gid = gid ? gid_t(*gid) : pw ? pw->pw_gid : gid_t(c.uid);
  if (pw) {
    c.name = pw->pw_name;
    c.home = pw->pw_dir ? pw->pw_dir : "";
    int n = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    if (::getgrouplist(pw->pw_name, c.gid, groups.data(), &n) < 0) {
      groups.resize(std::size_t(n));
      ::getgrouplist(pw->pw_name, c.gid, groups.data(), &n);
    }
    groups.resize(std::size_t(n));
    c.groups = std::move(groups);
  }
  if (c.groups.empty()) c.groups = {c.gid};
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  c.ipc_lock =
      ::syscall(SYS_capget, &header, data) == 0 && (data[0].permitted & (1u << CAP_IPC_LOCK)) != 0;
  return c;
}

bool become(const Credentials& user, bool keep_ipc_lock) {
  if (keep_ipc_lock && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return false;
  if (::setgroups(user.groups.size(), user.groups.data()) != 0 || ::setgid(user.gid) != 0 ||
      ::setuid(user.uid) != 0)
    return false;
  if (keep_ipc_lock) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].effective = data[0].permitted = data[0].inheritable = 1u << CAP_IPC_LOCK;
    if (::syscall(SYS_capset, &header, data) != 0 ||
        ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0) != 0 ||
        ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
      return false;
  }
  if (::setuid(0) == 0) {  // root must not be able to come back
    errno = EPERM;
    return false;
  }
  return true;
}

int open_errno_as(const Credentials& user, const std::string& path) {
  return as_user(user, [&] {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  });
}

int exec_errno_as(const Credentials& user, const std::string& path) {
  return as_user(user, [&] { return ::access(path.c_str(), X_OK) == 0 ? 0 : errno; });
}

bool sees_residency_as(const Credentials& user, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_uid == user.uid) return true;
  return as_user(user, [&] { return ::access(path.c_str(), W_OK) == 0 ? 0 : errno; }) == 0;
}

FsIds::FsIds(uid_t uid, gid_t gid)
    : old_uid_(uid_t(::setfsuid(uid_t(-1)))), old_gid_(gid_t(::setfsgid(gid_t(-1)))) {
  // Group first: once the fsuid is not root, setfsgid is no longer allowed.
  ::setfsgid(gid);
  ::setfsuid(uid);
}

FsIds::~FsIds() {
  ::setfsuid(old_uid_);
  ::setfsgid(old_gid_);
}

}  // namespace faultline
