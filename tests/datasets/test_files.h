// Helpers for the datasets tests: a temporary directory removed with its
// contents, whole-file read/write, and a FormatError matcher.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

namespace faultline::test {

// mkdtemp under $TMPDIR or /var/tmp; removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
bool exists(const std::string& path);
std::uint64_t file_size(const std::string& path);

// Little-endian u64/u32 put into `bytes` at `at` (for corrupting headers).
void put_u64(std::string& bytes, std::size_t at, std::uint64_t v);
void put_u32(std::string& bytes, std::size_t at, std::uint32_t v);

// Runs `read` and checks that it throws FormatError whose message contains
// `problem` and whose offset is `offset` (or any offset when offset < 0).
::testing::AssertionResult rejects(const std::function<void()>& read, const std::string& problem,
                                   std::int64_t offset = -1);

}  // namespace faultline::test
