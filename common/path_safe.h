// Names that become file names (strategy specs, cells, hosts, presets): keep
// [A-Za-z0-9.=-], replace everything else with '_', never "." or "..".
#pragma once

#include <string>
#include <string_view>

namespace faultline {

inline std::string path_safe(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '=' || c == '-';
    out += keep ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace faultline
