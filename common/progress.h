// The one progress bar (hyperfine-like) on stderr: a label, a bar, done/total,
// the rate and the estimated time left,
//
//   model.gguf  [##########··········]  1.2G / 2.5G  412 MB/s  ETA 3.1s
//   [ 3/12] load/mmap:private/forward/cold rep 1/3  [#####···············]  3/12  ETA 1m05s
//
// On a terminal it is one status line redrawn in place (at most 10 times a
// second) that permanent lines (line()) scroll above. Otherwise (a log, a
// pipe) nothing is redrawn: a plain status line every `plain_every` (0: none),
// permanent lines as they come. Disabled, it prints nothing at all.
// faultline-gen shows its bytes with it, `faultline run` its cells
// (harness/cell_progress.h adds the cells' result lines).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace faultline {

class ProgressBar {
 public:
  enum class Unit { kBytes, kCount };
  struct Options {
    Unit unit = Unit::kCount;
    bool enabled = true;
    // Already done when the bar starts (a resumed run): counted in done/total,
    // not in the rate.
    std::uint64_t already_done = 0;
    std::chrono::milliseconds plain_every{10000};  // off a terminal; 0: no status lines
  };
  ProgressBar(std::string label, std::uint64_t total, Options options);

  void set_label(std::string label) { label_ = std::move(label); }
  void set_done(std::uint64_t done) { done_ = done; }  // no drawing
  // Throttled: redraws (or prints a plain line) only when it is time to.
  void update(std::uint64_t done);
  // Redraws now (terminal only): a new label, a new cell.
  void redraw();
  // A permanent line (no '\n'): above the status line on a terminal.
  void line(std::string_view text);
  // Erases the status line (terminal) before other output.
  void clear();
  // The final status line, kept (terminal only).
  void finish();

  std::string status() const;  // the status line's text
  std::string eta() const;     // "ETA 1m05s", "ETA ?" before the first rate
  bool terminal() const { return tty_; }

 private:
  void draw(bool final_line);
  std::string label_;
  std::uint64_t total_, done_;
  Options o_;
  bool tty_, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// "1m05s", "12.3s", "850ms", "2h03m"
std::string format_duration(double seconds);

}  // namespace faultline
