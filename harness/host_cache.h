// Is there a cache below this system? On a VM whose disk image sits in the
// host's page cache, a "cold" read is cold in the guest only: the first read
// of a range comes from the host's storage, a read of the same range after
// the guest evicted it comes from the host's memory (here a 1 GiB cat: 1.56 s,
// then 0.81 s). calibration.json records the verdict as "host_cache":
//   {"verdict": "observed" | "not_observed" | "unknown",
//    "virtual_machine": true | false | null, "first_gbps", "again_gbps",
//    "detail": "one sentence"}
// from two O_DIRECT reads of the same range (the second much faster: a cache
// below the guest) and the signs of a VM (DMI names, the cpuinfo hypervisor
// flag, a paravirtual disk).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct VmSigns {
  std::optional<bool> virtual_machine;  // nullopt: no way to tell
  std::string evidence;                 // "cpuinfo hypervisor flag, virtio_blk disk"
};

// From /sys/class/dmi/id, /proc/cpuinfo and the driver of the disk that
// holds `file`. Roots are parameters for tests.
VmSigns detect_vm(const std::string& file, const std::string& sys_root = "/sys",
                  const std::string& proc_root = "/proc");

// The second read faster than the first by this factor or more: observed.
inline constexpr double kHostCacheRatio = 1.3;

// The "host_cache" object from the two reads' rates (nullopt: that read
// failed), the range they covered and the VM signs.
nlohmann::json host_cache_verdict(std::optional<double> first_gbps,
                                  std::optional<double> again_gbps, std::uint64_t range_bytes,
                                  const VmSigns& vm);

}  // namespace faultline::harness
