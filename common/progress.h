// Progress of a long write on stderr: on a terminal one line redrawn in place
// (percent, bytes, MB/s) at most 10 times a second; otherwise a plain line
// every 10 seconds, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace faultline {

class Progress {
 public:
  Progress(std::string name, std::uint64_t total, bool enabled);
  void update(std::uint64_t done);
  void finish();  // final line (terminal) or nothing

 private:
  void print(std::uint64_t done, bool final_line);

  std::string name_;
  std::uint64_t total_;
  bool enabled_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  std::uint64_t done_ = 0;
};

}  // namespace faultline
