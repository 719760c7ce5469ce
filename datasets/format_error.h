// The one error type for malformed model files: names the file, the byte
// offset at which the problem was found, and what is wrong.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace faultline {

class FormatError : public std::runtime_error {
 public:
  FormatError(std::string file, std::uint64_t offset, std::string what);
  const std::string& file() const { return file_; }
  std::uint64_t offset() const { return offset_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  std::uint64_t offset_;
  std::string problem_;
};

}  // namespace faultline
