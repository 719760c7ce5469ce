// Which build this is: the version of CMake's project(VERSION), the git
// commit the binary was built from (with "-dirty" when tracked files had
// changed) and the build date (UTC). The one owner is cmake/version.cmake,
// which takes the commit at build time; every binary's --version and
// env.json's "faultline" section say the same thing.
#pragma once

#include <string>
#include <string_view>

namespace faultline {

std::string_view version();     // "0.1.0"
std::string_view git_commit();  // full hash, "<hash>-dirty", or "unknown" (not a git checkout)
std::string_view build_date();  // "2026-12-01"

// "faultline-bench 0.1.0 (git 908e636, built 2026-12-01)"
std::string version_line(std::string_view program);

}  // namespace faultline
