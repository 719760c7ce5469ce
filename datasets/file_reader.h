// Bounds-checked little-endian reading of a model file's header through a
// buffered pread() window: nothing is mmapped, nothing is read past the end,
// and every failure is a FormatError naming the file and the byte offset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

class FileReader {
 public:
  explicit FileReader(const std::string& path);  // throws std::system_error
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t pos() const { return pos_; }
  std::uint64_t remaining() const { return size_ - pos_; }
  void seek(std::uint64_t pos) { pos_ = pos; }

  // Reads exactly n bytes at pos() or throws "truncated ..." naming `what`.
  void read(void* out, std::uint64_t n, const char* what);
  std::uint8_t u8(const char* what);
  std::uint16_t u16(const char* what);
  std::uint32_t u32(const char* what);
  std::uint64_t u64(const char* what);
  std::int32_t i32(const char* what) { return static_cast<std::int32_t>(u32(what)); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(u64(what)); }
  // n raw bytes as a string; the caller has already checked n against remaining().
  std::string bytes(std::uint64_t n, const char* what);

  // Throws FormatError(path, offset, what).
  [[noreturn]] void fail(std::uint64_t offset, const std::string& what) const;

 private:
  void fill(std::uint64_t at, std::uint64_t n);

  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
  std::vector<char> buf_;
  std::uint64_t buf_start_ = 0;  // file offset of buf_[0]
  std::uint64_t buf_len_ = 0;    // valid bytes in buf_
};

}  // namespace faultline
