// Comma-separated lists on the command line ("none,forward", "cold,warm").
#pragma once

#include <string_view>
#include <vector>

namespace faultline {

// "a,,b" -> {"a", "", "b"}; "" -> {""}. Views into `text`.
inline std::vector<std::string_view> split_list(std::string_view text, char sep = ',') {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

}  // namespace faultline
