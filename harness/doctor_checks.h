// The doctor's checks (harness/doctor.h), shared by the files that run them:
// the known answers' tolerances, and Doctor, which runs the workloads and
// records one Check per probe.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "common/availability.h"
#include "harness/doctor.h"
#include "harness/doctor_workloads.h"

#if FAULTLINE_HARNESS_BPF
namespace faultline::bpf {
class Tracer;
}
#endif

namespace faultline::harness::doctor {

// Tolerances of the known answers (relative): counts the kernel keeps exactly
// (page-cache insertions, one fault per page) get 0.5 %; bytes from the
// device and memory 1 %; perf and the tracer counting the same user faults 0.3 %.
constexpr double kExact = 0.005;
constexpr double kBytes = 0.01;
constexpr double kSameEvents = 0.003;

std::string count(double v);  // "4,096"
bool near(double measured, double expected, double tolerance);
// The file's readahead window (pages): its device's read_ahead_kb.
std::uint64_t read_ahead_pages(int fd);

class Doctor {
 public:
  Doctor(DoctorReport& report, const ScratchFile& file, const DoctorOptions& options)
      : r_(report), f_(file), o_(options) {
    try {
      doctor::evict(f_);
    } catch (const std::exception& e) {
      no_cold_ = fmt::format("{} ({}: its pages cannot be evicted, so nothing here is cold)",
                             e.what(), f_.filesystem());
    }
  }

  void not_applicable(const std::string& probe, const std::string& family,
                      const std::string& workload, const std::string& why) {
    add({probe, family, "-", workload, "-", "-", Verdict::kNotApplicable, why});
  }

  void add(Check c) { r_.checks.push_back(std::move(c)); }

  void check(const std::string& probe, const std::string& family, const std::string& mechanism,
             const std::string& workload, const std::string& expected, const std::string& measured,
             bool pass, const std::string& why_not = "") {
    Check c{probe, family, mechanism, workload, expected, measured};
    c.verdict = pass ? Verdict::kPass : Verdict::kFail;
    if (!pass) c.reason = why_not;
    add(std::move(c));
  }

  void unavailable(const std::string& probe, const std::string& family, const std::string& workload,
                   const std::string& why) {
    add({probe, family, "-", workload, "-", "-", Verdict::kUnavailable, why});
  }

  // The non-BPF probes: residency, rusage, /proc/self/io, status, smaps,
  // clear_refs, perf task-clock, the touch timer (harness/doctor_process_checks.cpp).
  void process_checks();
  void warm_process_checks();

#if FAULTLINE_HARNESS_BPF
  void bpf_checks();
  void cold_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail);
  void warm_bpf_checks(bpf::Tracer& tracer, bool up, const Availability& avail);
#endif

 private:
  DoctorReport& r_;
  const ScratchFile& f_;
  const DoctorOptions& o_;
  std::string no_cold_;  // why the file cannot be made cold, "" when it can
};

}  // namespace faultline::harness::doctor
