#include "common/size.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <stdexcept>
#include <string>

namespace faultline {
namespace {

// "K" -> 2^10 ... "E" -> 2^60; also accepts "KB", "KiB" and lower case.
int unit_shift(std::string_view unit) {
  if (unit.empty()) return -1;
  std::string u;
  for (char c : unit) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u == "B") return 0;
  static constexpr std::string_view kLetters = "KMGTPE";
  const auto pos = kLetters.find(u[0]);
  if (pos == std::string_view::npos) return -2;
  const std::string_view rest = std::string_view(u).substr(1);
  if (rest.empty() || rest == "B" || rest == "IB") return 10 * static_cast<int>(pos + 1);
  return -2;
}

}  // namespace

std::uint64_t parse_size(std::string_view text, bool allow_plain_bytes) {
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument(fmt::format("invalid size '{}': {}", text, why));
  };
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  const std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (number.empty() || number == "." || number.find('.') != number.rfind('.'))
    throw bad("expected a number such as 64M, 1G or 1.5GiB");
  int shift = unit_shift(unit);
  if (shift == -1) {
    if (!allow_plain_bytes) throw bad("size without a unit (write 64M, 1G, 4096B, ...)");
    shift = 0;
  }
  if (shift == -2) throw bad(fmt::format("unknown unit '{}' (use B, K, M, G, T, P)", unit));
  const long double value = std::stold(number) * std::ldexp(1.0L, shift);
  if (value >= 18446744073709551615.0L) throw bad("too large");
  const long double rounded = std::floor(value + 0.5L);
  if (shift == 0 && rounded != value) throw bad("fractional bytes");
  return static_cast<std::uint64_t>(rounded);
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T", "P", "E"};
  int unit = 0;
  long double value = static_cast<long double>(bytes);
  while (value >= 1024.0L && unit < 6) {
    value /= 1024.0L;
    ++unit;
  }
  if (unit == 0) return fmt::format("{}B", bytes);
  std::string s = fmt::format("{:.1f}", static_cast<double>(value));
  if (s.size() > 2 && s.ends_with(".0")) s.resize(s.size() - 2);
  return s + kUnits[unit];
}

std::string format_size_exact(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T", "P", "E"};
  int unit = 0;
  while (bytes != 0 && bytes % 1024 == 0 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{}{}", bytes, kUnits[unit]);
}

}  // namespace faultline
