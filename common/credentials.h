// Least privilege: when `faultline run` is started through sudo, the
// benchmark processes run as the user who typed it (SUDO_UID / SUDO_GID and
// that user's groups); the harness keeps root only for what needs it (the
// tracer, cache drops, cgroups). `--as-root` turns this off.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (the user's own, never root's)
  std::string name;           // "alice", or "uid 1000" when the user has no passwd entry
  std::string home;           // from the passwd entry, "" when none
  // Whether this process may hand CAP_IPC_LOCK on (it is in our permitted
  // set: not in e.g. Docker's default set).
  bool ipc_lock = false;

  std::string describe() const;  // "alice (uid 1000)"
};

// The user behind sudo when this process is root and SUDO_UID names someone
// else; nullopt when not under sudo, not root, or SUDO_UID is root itself.
// Throws std::invalid_argument on a malformed SUDO_UID / SUDO_GID.
std::optional<Credentials> invoking_user();

// In a forked child, before exec (async-signal-safe: setgroups, setgid,
// setuid, in that order, so no root group survives; every capability goes).
// With keep_ipc_lock, CAP_IPC_LOCK alone stays, as an ambient capability that
// survives exec: mlock strategies then measure the lock rather than the
// user's RLIMIT_MEMLOCK (raising that limit instead needs CAP_SYS_RESOURCE,
// which containers and VMs such as this one often lack). False with errno.
bool become(const Credentials& user, bool keep_ipc_lock = false);

// 0 when `user` may open `path` read-only, else the errno the open got:
// checked by a forked child that becomes the user and tries, so ACLs, every
// folder on the way and mount options all count.
int open_errno_as(const Credentials& user, const std::string& path);

// 0 when `user` may execute `path`, else the errno access(X_OK) gave.
int exec_errno_as(const Credentials& user, const std::string& path);

// Whether the kernel shows `user` the page-cache residency of `path`
// (cachestat and mincore answer only the file's owner or a writer).
bool sees_residency_as(const Credentials& user, const std::string& path);

// This thread's file-system identity (setfsuid/setfsgid) for a scope, then
// back to what it was. `faultline run` under sudo does every file operation
// as the invoking user: the results, logs, timelines and the generated model
// are theirs, and a symlink they plant can lead root only where they could
// write anyway. Only the cgroup tree needs root's file rights (FsIds::root()).
class FsIds {
 public:
  FsIds(uid_t uid, gid_t gid);
  ~FsIds();
  FsIds(const FsIds&) = delete;
  FsIds& operator=(const FsIds&) = delete;
  static FsIds root() { return FsIds(0, 0); }

 private:
  uid_t old_uid_;
  gid_t old_gid_;
};

}  // namespace faultline
