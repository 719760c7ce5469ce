// A JSON value as a whole number of type T, for plan files and plan.json
// alike: nlohmann's own get<T>() would convert 1e24 or -1 to an unsigned type
// (undefined behaviour for the former, found by fuzz_plan), 2.5 to 2 and
// "7" to an exception that names no key.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace faultline::harness {

template <class T>
T whole_number(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u <= std::uint64_t(std::numeric_limits<T>::max())) return T(u);
  } else if (v.is_number_integer() && std::is_signed_v<T>) {
    const auto i = v.get<std::int64_t>();
    if (i >= std::int64_t(std::numeric_limits<T>::min()) &&
        i <= std::int64_t(std::numeric_limits<T>::max()))
      return T(i);
  }
  throw std::invalid_argument(fmt::format("\"{}\" must be a whole number from {} to {}, not {}",
                                          key, std::numeric_limits<T>::min(),
                                          std::numeric_limits<T>::max(), v.dump()));
}

}  // namespace faultline::harness
