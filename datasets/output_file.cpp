#include "datasets/output_file.h"

#include "common/interrupt.h"
#include "common/size.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace faultline {
namespace {

std::string dir_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

std::string name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

std::string partial_path_for(const std::string& path, pid_t pid) {
  return fmt::format("{}/.{}.partial-{}", dir_of(path), name_of(path), pid);
}

int remove_stale_partials(const std::string& path) {
  const std::string dir = dir_of(path);
  const std::string prefix = "." + name_of(path) + ".partial-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (!name.starts_with(prefix)) continue;
    const std::string pid_text(name.substr(prefix.size()));
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to judge)
    if (::unlink((dir + "/" + std::string(name)).c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

std::uint64_t free_bytes(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) throw_errno(errno, "cannot statvfs " + dir);
  return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

OutputFile::OutputFile(std::string path, OutputOptions options) : path_(std::move(path)) {
  struct stat st {};
  if (!options.force && ::lstat(path_.c_str(), &st) == 0)
    throw std::runtime_error(fmt::format("{} already exists (use --force to overwrite it)", path_));
  const std::string dir = dir_of(path_);
  remove_stale_partials(path_);
  const std::uint64_t avail = free_bytes(dir);
  if (options.expected_size > avail)
    throw std::runtime_error(fmt::format("{} needs {}, only {} free on {}", path_,
                                         format_size(options.expected_size), format_size(avail),
                                         dir));
  temp_path_ = partial_path_for(path_, ::getpid());
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno(errno, "cannot create " + temp_path_);
  if (options.expected_size > 0) {
    // Reserve the space up front: no ENOSPC half way, and a contiguous file.
    const int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(options.expected_size));
    if (err == ENOSPC) {
      ::close(fd_);
      ::unlink(temp_path_.c_str());
      throw std::runtime_error(fmt::format("{} needs {}, but {} ran out of space", path_,
                                           format_size(options.expected_size), dir));
    }
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void OutputFile::write(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    throw_if_interrupted();
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, "cannot write " + temp_path_);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
  throw_if_interrupted();
  if (on_progress) on_progress(written_);
}

void OutputFile::commit() {
  throw_if_interrupted();
  // Preallocation may have reserved more than was written.
  if (::ftruncate(fd_, static_cast<off_t>(written_)) != 0)
    throw_errno(errno, "cannot truncate " + temp_path_);
  if (::fsync(fd_) != 0) throw_errno(errno, "cannot fsync " + temp_path_);
  // Leave the new file cold: the bytes are on disk, nobody needs them cached.
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw_errno(errno, "cannot close " + temp_path_);
  }
  fd_ = -1;
  throw_if_interrupted();
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw_errno(errno, fmt::format("cannot rename {} to {}", temp_path_, path_));
  committed_ = true;
  const int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace faultline
