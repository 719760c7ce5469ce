#include "datasets/file_reader.h"

#include "datasets/format_error.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace faultline {
namespace {
constexpr std::uint64_t kWindow = 1 << 20;  // header reads go through a 1 MiB window
}

FileReader::FileReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(), "cannot stat " + path);
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  buf_.resize(kWindow);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReader::fail(std::uint64_t offset, const std::string& what) const {
  throw FormatError(path_, offset, what);
}

void FileReader::fill(std::uint64_t at, std::uint64_t n) {
  buf_start_ = at;
  buf_len_ = 0;
  const std::uint64_t want = std::min<std::uint64_t>(std::max(n, kWindow), size_ - at);
  if (buf_.size() < want) buf_.resize(want);
  while (buf_len_ < want) {
    const ssize_t got =
        ::pread(fd_, buf_.data() + buf_len_, want - buf_len_, static_cast<off_t>(at + buf_len_));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::system_error(errno, std::generic_category(), "cannot read " + path_);
    if (got == 0) fail(at + buf_len_, "file shrank while being read");
    buf_len_ += static_cast<std::uint64_t>(got);
  }
}

void FileReader::read(void* out, std::uint64_t n, const char* what) {
  if (n > remaining())
    fail(pos_, fmt::format("truncated: {} needs {} bytes, only {} left in the {}-byte file", what,
                           n, remaining(), size_));
  if (n == 0) return;
  if (pos_ < buf_start_ || pos_ + n > buf_start_ + buf_len_) fill(pos_, n);
  std::memcpy(out, buf_.data() + (pos_ - buf_start_), n);
  pos_ += n;
}

std::uint8_t FileReader::u8(const char* what) {
  std::uint8_t v;
  read(&v, 1, what);
  return v;
}

// Model files are little-endian, as is every machine faultline runs on.
std::uint16_t FileReader::u16(const char* what) {
  std::uint16_t v;
  read(&v, 2, what);
  return v;
}

std::uint32_t FileReader::u32(const char* what) {
  std::uint32_t v;
  read(&v, 4, what);
  return v;
}

std::uint64_t FileReader::u64(const char* what) {
  std::uint64_t v;
  read(&v, 8, what);
  return v;
}

std::string FileReader::bytes(std::uint64_t n, const char* what) {
  std::string s(n, '\0');
  read(s.data(), n, what);
  return s;
}

}  // namespace faultline
