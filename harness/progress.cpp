#include "harness/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/size.h"
#include "schema/metrics.h"

namespace faultline::harness {

std::string format_ms(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 1) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3f}", v);
}

std::string format_duration(double s) {
  if (s < 1) return fmt::format("{:.0f}ms", s * 1000);
  if (s < 60) return fmt::format("{:.1f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", int(s) / 60, int(s) % 60);
  return fmt::format("{}h{:02}m", int(s) / 3600, (int(s) % 3600) / 60);
}

Progress::Progress(int total, int already_done, bool quiet)
    : total_(total), done_(already_done), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

std::string Progress::prefix(const Cell& cell, int reps) const {
  int width = int(std::to_string(total_).size());
  return fmt::format("[{:>{}}/{}] {} rep {}/{}{}", done_ + 1, width, total_, cell.name(), cell.rep,
                     reps, cell.traced ? " (traced)" : "");
}

std::string Progress::eta() const {
  if (run_here_ == 0) return "ETA ?";
  double per = spent_s_ / run_here_;
  return "ETA " + format_duration(per * (total_ - done_));
}

void Progress::start(const Cell& cell, int reps) {
  cell_start_ = std::chrono::steady_clock::now();
  if (quiet_ || !tty_) return;
  fmt::print(stderr, "\r\033[K{}  running…  {}", prefix(cell, reps), eta());
  std::fflush(stderr);
}

void Progress::clear_line() {
  if (!quiet_ && tty_) fmt::print(stderr, "\r\033[K");
}

void Progress::finish(const Cell& cell, int reps, const runs::Row& row) {
  spent_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start_).count();
  ++run_here_;
  std::string line = prefix(cell, reps);
  ++done_;
  if (quiet_) return;
  std::string what;
  auto get = [&](std::string_view k) -> const double* {
    auto it = row.metrics.find(std::string(k));
    return it == row.metrics.end() ? nullptr : &it->second;
  };
  if (row.status == runs::Status::kOk) {
    if (row.processes > 1) {
      const double* rss = get(metric::kFleetRssBytes);
      const double* pss = get(metric::kFleetPssBytes);
      const double* ready = get(metric::kFleetReadyMs);
      what = fmt::format("ready {} ms  fleet rss {}  pss {}", format_ms(ready ? *ready : 0.0),
                         format_size(std::uint64_t(rss && *rss > 0 ? *rss : 0)),
                         format_size(std::uint64_t(pss && *pss > 0 ? *pss : 0)));
    } else {
      const double* ready = get(metric::kReadyMs);
      const double* total = get(metric::kTotalMs);
      const double* rss = get(metric::kRssBytes);
      what = fmt::format("ready {} ms  total {} ms  rss {}", format_ms(ready ? *ready : 0.0),
                         format_ms(total ? *total : 0.0),
                         format_size(std::uint64_t(rss && *rss > 0 ? *rss : 0)));
    }
  } else {
    what = fmt::format("{}: {}", runs::to_string(row.status), row.error.value_or(""));
  }
  if (done_ < total_)
    fmt::print(stderr, "{}{}  {}  {}\n", tty_ ? "\r\033[K" : "", line, what, eta());
  else
    fmt::print(stderr, "{}{}  {}\n", tty_ ? "\r\033[K" : "", line, what);
}

}  // namespace faultline::harness
