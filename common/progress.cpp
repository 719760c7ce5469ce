#include "common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "common/size.h"

namespace faultline {
namespace {

constexpr int kBarWidth = 20;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

std::string bar(std::uint64_t done, std::uint64_t total) {
  const int full =
      total ? int(double(kBarWidth) * double(std::min(done, total)) / double(total)) : kBarWidth;
  std::string out = "[" + std::string(std::size_t(full), '#');
  for (int i = full; i < kBarWidth; ++i) out += "·";
  return out + "]";
}

}  // namespace

std::string format_duration(double s) {
  if (s < 1) return fmt::format("{:.0f}ms", s * 1000);
  if (s < 60) return fmt::format("{:.1f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", int(s) / 60, int(s) % 60);
  return fmt::format("{}h{:02}m", int(s) / 3600, (int(s) % 3600) / 60);
}

ProgressBar::ProgressBar(std::string label, std::uint64_t total, Options options)
    : label_(std::move(label)),
      total_(total),
      done_(options.already_done),
      o_(options),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string ProgressBar::eta() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::uint64_t here = done_ > o_.already_done ? done_ - o_.already_done : 0;
  if (here == 0 || seconds <= 0) return "ETA ?";
  const double left = total_ > done_ ? double(total_ - done_) : 0.0;
  return "ETA " + format_duration(seconds / double(here) * left);
}

std::string ProgressBar::status() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::uint64_t here = done_ > o_.already_done ? done_ - o_.already_done : 0;
  std::string counts, rate;
  if (o_.unit == Unit::kBytes) {
    counts = fmt::format("{} / {}", format_size(done_), format_size(total_));
    if (seconds > 0) rate = fmt::format("  {:.0f} MB/s", double(here) / 1e6 / seconds);
  } else {
    const int width = int(std::to_string(total_).size());
    counts = fmt::format("{:>{}}/{}", done_, width, total_);
    if (here > 0) rate = fmt::format("  {}/each", format_duration(seconds / double(here)));
  }
  return fmt::format("{}  {}  {}{}  {}", label_, bar(done_, total_), counts, rate,
                     done_ >= total_ ? fmt::format("in {}", format_duration(seconds)) : eta());
}

void ProgressBar::update(std::uint64_t done) {
  done_ = done;
  if (!o_.enabled) return;
  const auto now = std::chrono::steady_clock::now();
  const auto every = tty_ ? kRedrawEvery : o_.plain_every;
  if (every.count() == 0 || now - last_ < every) return;
  last_ = now;
  draw(false);
}

void ProgressBar::redraw() {
  if (!o_.enabled || !tty_) return;
  last_ = std::chrono::steady_clock::now();
  draw(false);
}

void ProgressBar::line(std::string_view text) {
  if (!o_.enabled) return;
  fmt::print(stderr, "{}{}\n", tty_ && drawn_ ? "\r\x1b[K" : "", text);
  drawn_ = false;
  std::fflush(stderr);
}

void ProgressBar::clear() {
  if (o_.enabled && tty_ && drawn_) fmt::print(stderr, "\r\x1b[K");
  drawn_ = false;
}

void ProgressBar::finish() {
  if (o_.enabled && tty_) draw(true);
}

void ProgressBar::draw(bool final_line) {
  if (tty_)
    fmt::print(stderr, "\r{}\x1b[K{}", status(), final_line ? "\n" : "");
  else
    fmt::print(stderr, "{}\n", status());
  drawn_ = tty_ && !final_line;
  std::fflush(stderr);
}

}  // namespace faultline
