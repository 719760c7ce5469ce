#include "common/cpu_flags.h"

#include <fstream>
#include <sstream>

namespace faultline {

std::optional<std::set<std::string>> cpu_flags(const std::filesystem::path& proc_root) {
  std::ifstream in(proc_root / "cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    const auto colon = line.find(':');
    std::istringstream words(colon == std::string::npos ? "" : line.substr(colon + 1));
    std::set<std::string> out;
    for (std::string w; words >> w;) out.insert(w);
    return out;
  }
  return std::nullopt;
}

}  // namespace faultline
