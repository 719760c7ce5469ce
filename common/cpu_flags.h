// The CPU's feature flags as the kernel reports them (the first "flags" line of
// /proc/cpuinfo: "avx2", "avx512f", "amx_int8", "hypervisor", ...). The kernel
// lists a feature only when it can use it (AMX needs its tile state enabled).
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace faultline {

// nullopt when PROC_ROOT/cpuinfo has no flags line (or cannot be read).
std::optional<std::set<std::string>> cpu_flags(const std::filesystem::path& proc_root = "/proc");

}  // namespace faultline
