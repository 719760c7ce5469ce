// Shared by the fuzz targets: an in-memory file (memfd) that the path-based
// readers open through /proc/self/fd/N, and the one rule for exceptions.
//
// Each target defines LLVMFuzzerTestOneInput(). Built with -fsanitize=fuzzer
// (FAULTLINE_FUZZ=ON) it is a libFuzzer binary; built with replay_main.cpp
// (every build) it replays the seed corpus and the regression inputs, so the
// Release and asan builds check every crash input ever found.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "datasets/format_error.h"

namespace faultline::fuzz {

// One memfd per process, rewritten for every input.
class MemFile {
 public:
  MemFile() {
    fd_ = ::memfd_create("faultline-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      ssize_t n = ::pwrite(fd_, data + done, size - done, off_t(done));
      if (n <= 0) std::abort();
      done += std::size_t(n);
    }
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what);
  std::abort();
}

// nlohmann::json::parse of arbitrary bytes, or nullopt: parse throws
// parse_error, and out_of_range.406 for a number that overflows.
inline std::optional<nlohmann::json> parse_json(const std::uint8_t* data, std::size_t size) {
  try {
    return nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// Runs f(); the documented error types of bad input are fine, anything else
// (another exception type) aborts so libFuzzer records the input.
template <class F>
void expect_documented_errors(F&& f) {
  try {
    f();
  } catch (const nlohmann::json::parse_error&) {
  } catch (const FormatError&) {
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {  // includes std::system_error
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FUZZ FINDING: undocumented exception: %s\n", e.what());
    std::abort();
  } catch (...) {
    finding("non-std exception");
  }
}

}  // namespace faultline::fuzz
