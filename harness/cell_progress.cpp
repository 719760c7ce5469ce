#include "harness/cell_progress.h"

#include <fmt/format.h>

#include "common/size.h"
#include "schema/metrics.h"

namespace faultline::harness {

std::string format_ms(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 1) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3f}", v);
}

CellProgress::CellProgress(int total, int already_done, bool quiet)
    : total_(total),
      done_(already_done),
      bar_("", std::uint64_t(total),
           {.enabled = !quiet,
            .already_done = std::uint64_t(already_done),
            .plain_every = std::chrono::milliseconds(0)}) {}

std::string CellProgress::prefix(const Cell& cell, int reps) const {
  int width = int(std::to_string(total_).size());
  return fmt::format("[{:>{}}/{}] {} rep {}/{}{}", done_ + 1, width, total_, cell.name(), cell.rep,
                     reps, cell.traced ? " (traced)" : "");
}

void CellProgress::start(const Cell& cell, int reps) {
  bar_.set_label(prefix(cell, reps) + "  running…");
  bar_.redraw();
}

void CellProgress::finish(const Cell& cell, int reps, const runs::Row& row) {
  std::string line = prefix(cell, reps);
  bar_.set_done(std::uint64_t(++done_));
  auto get = [&](std::string_view k) -> std::string {  // "–": not measured, never 0
    auto it = row.metrics.find(std::string(k));
    return it == row.metrics.end() ? "–" : format_ms(it->second);
  };
  auto size = [&](std::string_view k) -> std::string {
    auto it = row.metrics.find(std::string(k));
    return it == row.metrics.end() ? "–" : format_size(std::uint64_t(std::max(it->second, 0.0)));
  };
  std::string what;
  if (row.status == runs::Status::kOk) {
    if (row.processes > 1)
      what = fmt::format("ready {} ms  fleet rss {}  pss {}", get(metric::kFleetReadyMs),
                         size(metric::kFleetRssBytes), size(metric::kFleetPssBytes));
    else
      what = fmt::format("ready {} ms  total {} ms  rss {}", get(metric::kReadyMs),
                         get(metric::kTotalMs), size(metric::kRssBytes));
  } else {
    what = fmt::format("{}: {}", runs::to_string(row.status), row.error.value_or(""));
  }
  if (done_ < total_)
    bar_.line(fmt::format("{}  {}  {}", line, what, bar_.eta()));
  else
    bar_.line(fmt::format("{}  {}", line, what));
}

}  // namespace faultline::harness
