// What the hardware can do, measured in the same run on the model's own file,
// so every result can be read as a fraction of it:
//   storage_gbps   sequential read limit: fio (O_DIRECT, 1 MiB, QD 32) when
//                  installed, else faultline-bench's direct:qd=32 cold
//   pagecache_gbps page-cache copy bandwidth: faultline-bench read, warm
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct Credentials;

struct CalibrationInputs {
  std::string model;
  std::uint64_t model_bytes = 0;
  std::string bench;  // faultline-bench path
  bool drop_caches = false;
  const Credentials* as_user = nullptr;  // run fio and the bench as this user
};

// {"storage": {"gbps": x, "method": "fio ..."}, "pagecache": {...}}; a part
// that fails has "error" instead of "gbps".
nlohmann::json calibrate(const CalibrationInputs& in);

}  // namespace faultline::harness
