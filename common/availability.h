// What measured a row's metrics, and why the others were not measured: the
// data behind a row's `probes` and `not_measured` (results/schema.json). A
// metric that was not measured is absent from the metrics, never 0; its
// reason is here. Every producer (faultline-bench's own probes, the eBPF
// tracer, `faultline doctor`'s verdicts) fills one of these and the harness
// merges them into the row.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace faultline {

// Why nothing of the eBPF tracer is measured in a build without bpf/
// (-DFAULTLINE_SKIP_BPF=ON): faultline-bench --trace, the run and the doctor.
inline constexpr const char* kBuiltWithoutBpf = "built without BPF (FAULTLINE_SKIP_BPF=ON)";

struct Availability {
  std::vector<std::string> probes;                  // "tp_btf/page_fault_user", "cachestat", ...
  std::map<std::string, std::string> not_measured;  // metric -> why not

  void add_probe(const std::string& p) {
    if (std::find(probes.begin(), probes.end(), p) == probes.end()) probes.push_back(p);
  }
  // A later reason for the same metric does not replace the first one.
  void not_measured_because(const std::string& metric, const std::string& why) {
    not_measured.emplace(metric, why);
  }
  void merge(const Availability& o) {
    for (const auto& p : o.probes) add_probe(p);
    for (const auto& [m, why] : o.not_measured) not_measured.emplace(m, why);
  }
};

}  // namespace faultline
