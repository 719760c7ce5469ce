// A program cell's stdout and stderr: read from their pipes without
// blocking, copied into the cell's log, stdout split into lines for the
// --ready regex, the last stderr lines kept for a failure's reason.
#pragma once

#include <deque>
#include <optional>
#include <regex>
#include <string>

namespace faultline::harness {

class ProgramOutput {
 public:
  // Takes the read ends (closed on destruction); log_fd: -1 for none.
  ProgramOutput(int stdout_fd, int stderr_fd, int log_fd, const std::optional<std::string>& ready);
  ~ProgramOutput();
  ProgramOutput(const ProgramOutput&) = delete;
  ProgramOutput& operator=(const ProgramOutput&) = delete;

  // Waits up to timeout_ms for output (or for `also_fd`, e.g. a pidfd, to be
  // readable: then returns true at once) and reads what there is. True when
  // also_fd became readable.
  bool pump(int timeout_ms, int also_fd = -1);
  // Reads what is left without waiting long (the program has exited).
  void drain();
  bool ready() const { return ready_; }  // a stdout line matched
  bool open() const { return out_ >= 0 || err_ >= 0; }
  std::string stderr_tail() const;  // its last lines, joined by " | "

 private:
  void read_from(int& fd, std::string& partial, bool is_stdout);
  void line(const std::string& text, bool is_stdout);
  int out_, err_, log_;
  std::optional<std::regex> ready_re_;
  bool ready_ = false;
  std::string out_partial_, err_partial_;
  std::deque<std::string> err_tail_;
};

}  // namespace faultline::harness
