#include "tests/datasets/test_files.h"

#include "datasets/format_error.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace faultline::test {

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/var/tmp") + "/faultline-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool exists(const std::string& path) {
  return std::filesystem::exists(path);
}

std::uint64_t file_size(const std::string& path) {
  return std::filesystem::file_size(path);
}

void put_u64(std::string& bytes, std::size_t at, std::uint64_t v) {
  std::memcpy(&bytes[at], &v, 8);
}
void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  std::memcpy(&bytes[at], &v, 4);
}

::testing::AssertionResult rejects(const std::function<void()>& read, const std::string& problem,
                                   std::int64_t offset) {
  try {
    read();
  } catch (const FormatError& e) {
    if (std::string(e.what()).find(problem) == std::string::npos)
      return ::testing::AssertionFailure()
             << "error \"" << e.what() << "\" does not mention \"" << problem << "\"";
    if (offset >= 0 && e.offset() != static_cast<std::uint64_t>(offset))
      return ::testing::AssertionFailure()
             << "error \"" << e.what() << "\" is at byte " << e.offset() << ", expected " << offset;
    if (std::string(e.what()).find(e.file() + ": at byte ") != 0)
      return ::testing::AssertionFailure()
             << "error \"" << e.what() << "\" does not start with the file";
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-FormatError: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted the file; expected \"" << problem << "\"";
}

}  // namespace faultline::test
