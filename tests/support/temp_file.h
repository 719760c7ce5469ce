// Test files: a file of seeded pseudorandom bytes in /var/tmp (a real disk
// file system: tmpfs has no readahead or O_DIRECT), removed when the test ends.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace faultline::testing {

class TempFile {
 public:
  // `bytes` of pseudorandom data (seeded), fsynced.
  explicit TempFile(std::uint64_t bytes, std::uint64_t seed = 1,
                    const std::string& dir = "/var/tmp") {
    path_ = dir + "/faultline-test-XXXXXX";
    std::vector<char> name(path_.begin(), path_.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) throw std::runtime_error("mkstemp in " + dir + " failed");
    path_ = name.data();
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> block(1 << 17);  // 1 MiB
    std::uint64_t left = bytes;
    while (left > 0) {
      for (auto& w : block) w = rng();
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size() * 8));
      if (::write(fd, block.data(), n) != static_cast<ssize_t>(n)) {
        ::close(fd);
        throw std::runtime_error("write to " + path_ + " failed");
      }
      left -= n;
    }
    ::fsync(fd);
    ::fchmod(fd, 0644);
    ::close(fd);
    size_ = bytes;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::uint64_t size_ = 0;
};

// FNV-1a over a byte range: the reference checksum of "identical bytes".
inline std::uint64_t fnv1a(const std::uint8_t* p, std::uint64_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

inline bool is_root() {
  return ::geteuid() == 0;
}

}  // namespace faultline::testing
