// faultline doctor: every probe family checked against a known answer on this
// kernel and on the filesystem of the model. Small workloads on a scratch file
// next to the model (tmpfs has no block I/O, ext4 has large folios: where the
// file lives matters) whose kernel-side effects are known: a cold read() of N
// pages adds N pages to the page cache and reads N x 4 KiB from the device; a
// cold MADV_RANDOM touch takes one major, file-backed fault per page; ...
// Each check compares what a probe measured with what it must be. `faultline
// run` runs it first and marks the metrics of a family that failed as not
// measured (env.json "doctor").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness {

enum class Verdict { kPass, kFail, kUnavailable, kNotApplicable };
const char* to_string(Verdict v);

struct Check {
  std::string probe;      // "page-cache insertions"
  std::string family;     // results/schema.json family: "bpf_pagecache"
  std::string mechanism;  // "tp_btf/mm_filemap_add_to_page_cache"
  std::string workload;   // "cold read() of 4,096 pages"
  std::string expected;   // "4,096 pages"
  std::string measured;   // "4,096 pages"
  Verdict verdict = Verdict::kPass;
  std::string reason;  // why it failed, is unavailable or does not apply
};

struct DoctorOptions {
  std::string dir = "/var/tmp";  // where the scratch file lives (the model's folder)
  std::uint64_t scratch_bytes = 16ull << 20;
  // Runs its argument with root's file rights (BTF, tracefs): `faultline run`
  // under sudo does everything else with the user's (common/credentials.h).
  std::function<void(const std::function<void()>&)> with_root_files;
};

struct DoctorReport {
  std::string dir, filesystem, kernel;
  std::uint64_t scratch_pages = 0;
  double seconds = 0;
  std::vector<Check> checks;

  bool any_failed() const;
  // Per family: fail if any of its checks failed, unavailable if none could
  // run, else pass (with the mechanism that measured it).
  nlohmann::json families() const;
  nlohmann::json to_json() const;  // {"version", "dir", ..., "checks", "families"}
  std::string table() const;       // probe, mechanism, expected, measured, verdict
};

// Runs every check. Needs root (or CAP_BPF+CAP_PERFMON) for the BPF families;
// without them those checks are "unavailable" and the rest still run. Throws
// std::runtime_error when the scratch file cannot be made in options.dir.
DoctorReport run_doctor(const DoctorOptions& options);

// What `faultline run` stores in env.json "doctor": the report's JSON for the
// model's filesystem (one line on stderr unless quiet; {"error": ...} when
// the doctor could not run at all). The caller holds the host lock.
nlohmann::json doctor_for_run(const std::string& model, bool quiet);

}  // namespace faultline::harness

namespace CLI {
class App;
}
namespace faultline::harness {
void add_doctor_command(CLI::App& app);
}  // namespace faultline::harness
