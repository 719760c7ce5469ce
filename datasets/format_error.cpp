#include "datasets/format_error.h"

#include <fmt/format.h>

namespace faultline {

FormatError::FormatError(std::string file, std::uint64_t offset, std::string what)
    : std::runtime_error(fmt::format("{}: at byte {}: {}", file, offset, what)),
      file_(std::move(file)),
      offset_(offset),
      problem_(std::move(what)) {}

}  // namespace faultline
