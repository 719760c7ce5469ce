// Durations on the command line and in plan files: "10s", "1.5s", "500ms",
// "2m", "1h", "1d"; a bare number is seconds. Refused, with a message naming
// the text: not a number, an unknown unit, zero or negative, inf/nan, below
// 1 ms, or above kMaxDuration (so that every std::chrono conversion and
// every "now + timeout" stays far from overflow).
#pragma once

#include <chrono>
#include <string_view>

namespace faultline {

inline constexpr std::chrono::hours kMaxDuration{24 * 365};  // one year

// Throws std::invalid_argument ("invalid duration '1e30': longer than ...").
std::chrono::milliseconds parse_duration(std::string_view text);

// The same limits for a number of seconds that is already a number (a plan
// file's cell_timeout_s): returns it, or throws std::invalid_argument naming
// `what`.
double checked_seconds(double seconds, std::string_view what);

}  // namespace faultline
