// What the hardware can do, measured in the same run on the model's own file,
// so every result can be read as a fraction of it:
//   storage_gbps   sequential read limit: a bounded fio sweep, coarse to fine,
//                  whose best three points are measured again; the median of
//                  the second runs (harness/storage_sweep.h); without fio,
//                  faultline-bench's direct:qd=32 cold
//   pagecache_gbps page-cache copy bandwidth: faultline-bench read, warm
//   host_cache     whether a cache below the guest serves "cold" reads
//                  (harness/host_cache.h)
// Every child runs as the benchmarks' user and in the calibration's cgroup.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline {
struct Credentials;
}  // namespace faultline

namespace faultline::harness {

struct CalibrationInputs {
  std::string model;
  std::uint64_t model_bytes = 0;
  std::string bench;  // faultline-bench path
  bool drop_caches = false;
  const Credentials* as_user = nullptr;    // run fio and the bench as this user
  std::vector<std::string> cgroup_procs;   // and in this cgroup (cgroup.procs files)
  std::uint64_t point_bytes = 1ull << 30;  // each fio point reads at most this
  double point_runtime_s = 3;              // and for at most this long
  double budget_s = 50;                    // the sweep's coarse and fine points
};

// calibration.json (results/README.md): {"storage": {"gbps", "method",
// "points", "best", "seconds", ...}, "pagecache": {"gbps", "method"},
// "host_cache": {...}, "storage_gbps", "pagecache_gbps"}; a part that fails
// has "error" instead of "gbps".
nlohmann::json calibrate(const CalibrationInputs& in);

}  // namespace faultline::harness
