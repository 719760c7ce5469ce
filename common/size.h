// Byte sizes on the command line: "64M", "1G", "1.5GiB", "4096" (bytes).
// Suffixes are binary (K = 1024). A size without unit is bytes only when
// allow_plain_bytes; otherwise it is an error ("size without a unit").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace faultline {

// Throws std::invalid_argument with a message naming the bad text.
std::uint64_t parse_size(std::string_view text, bool allow_plain_bytes = true);

// 1073741824 -> "1G", 1536 -> "1.5K", 100 -> "100B": shortest exact-ish form.
std::string format_size(std::uint64_t bytes);

// The largest unit that divides exactly: 71684096 -> "70004K", 1073741824 ->
// "1G", 100 -> "100B". parse_size() gives the same number back (for specs
// that must round-trip, where "68.4M" would not).
std::string format_size_exact(std::uint64_t bytes);

}  // namespace faultline
