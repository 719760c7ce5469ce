#include "common/progress.h"

#include "common/size.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace faultline {

Progress::Progress(std::string name, std::uint64_t total, bool enabled)
    : name_(std::move(name)),
      total_(total),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(std::uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  if (now - last_ < interval) return;
  last_ = now;
  print(done, false);
}

void Progress::finish() {
  if (enabled_ && tty_) print(done_, true);
}

void Progress::print(std::uint64_t done, bool final_line) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double mbps = seconds > 0 ? static_cast<double>(done) / 1e6 / seconds : 0.0;
  const int pct =
      total_ ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total_))
             : 100;
  const std::string line = fmt::format("{}: {:3}%  {} / {}  {:.0f} MB/s", name_, pct,
                                       format_size(done), format_size(total_), mbps);
  if (tty_)
    fmt::print(stderr, "\r{}\x1b[K{}", line, final_line ? "\n" : "");
  else
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

}  // namespace faultline
