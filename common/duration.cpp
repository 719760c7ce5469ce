#include "common/duration.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace faultline {
namespace {

constexpr double kMaxSeconds = std::chrono::duration<double>(kMaxDuration).count();

// Seconds per unit; 0 for an unknown unit.
double unit_seconds(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1;
  if (unit == "ms") return 1e-3;
  if (unit == "m" || unit == "min") return 60;
  if (unit == "h") return 3600;
  if (unit == "d") return 86400;
  return 0;
}

// Empty when `seconds` is a usable duration, else why not.
std::string problem(double seconds) {
  if (std::isnan(seconds)) return "not a number";
  if (seconds <= 0) return "must be positive";
  if (std::isinf(seconds)) return "not finite";
  if (seconds > kMaxSeconds) return "longer than the limit of 365 days";
  if (seconds < 1e-3) return "shorter than 1 ms";
  return "";
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument(
        fmt::format("invalid duration '{}': {} (examples: 10s, 500ms, 2m, 1h)", text, why));
  };
  double value = 0;
  const char* end = text.data() + text.size();
  auto [used, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) throw bad("out of range");
  if (ec != std::errc() || used == text.data()) throw bad("expected a number");
  const std::string_view unit(used, end - used);
  const double per_unit = unit_seconds(unit);
  if (per_unit == 0) throw bad(fmt::format("unknown unit '{}' (use ms, s, m, h, d)", unit));
  const double seconds = value * per_unit;
  if (auto why = problem(seconds); !why.empty()) throw bad(why);
  return std::chrono::milliseconds(std::llround(seconds * 1e3));
}

double checked_seconds(double seconds, std::string_view what) {
  if (auto why = problem(seconds); !why.empty())
    throw std::invalid_argument(fmt::format("{} {}: {}", what, seconds, why));
  return seconds;
}

}  // namespace faultline
