#include "harness/doctor.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "common/availability.h"
#include "harness/doctor_checks.h"

namespace faultline::harness {
namespace doctor {

std::string count(double v) {
  std::string s = fmt::format("{:.0f}", v), out;
  const std::size_t start = s[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > start && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

bool near(double measured, double expected, double tolerance) {
  return std::abs(measured - expected) <= tolerance * std::max(1.0, std::abs(expected));
}

std::uint64_t read_ahead_pages(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  FILE* f = std::fopen(
      fmt::format("/sys/dev/block/{}:{}/../queue/read_ahead_kb", major(st.st_dev), minor(st.st_dev))
          .c_str(),
      "r");
  if (!f)
    f = std::fopen(
        fmt::format("/sys/dev/block/{}:{}/queue/read_ahead_kb", major(st.st_dev), minor(st.st_dev))
            .c_str(),
        "r");
  if (!f)
    f = std::fopen(
        fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", major(st.st_dev), minor(st.st_dev))
            .c_str(),
        "r");
  unsigned long kb = 128;
  if (f) {
    if (std::fscanf(f, "%lu", &kb) != 1) kb = 128;
    std::fclose(f);
  }
  return kb / 4;
}

}  // namespace doctor

DoctorReport run_doctor(const DoctorOptions& o) {
  using doctor::Doctor;
  using doctor::ScratchFile;
  const auto t0 = std::chrono::steady_clock::now();
  DoctorReport r;
  r.dir = o.dir;
  utsname u{};
  r.kernel = ::uname(&u) == 0 ? u.release : "unknown";
  ScratchFile file(o.dir, o.scratch_bytes);
  r.filesystem = file.filesystem();
  r.scratch_pages = file.pages();
  Doctor d(r, file, o);
  d.process_checks();
#if FAULTLINE_HARNESS_BPF
  d.bpf_checks();
#else
  for (const char* fam :
       {"bpf_faults_user", "bpf_faults_filemap", "bpf_fault_latency", "bpf_readahead",
        "bpf_pagecache", "bpf_unused", "bpf_block", "bpf_timeline"})
    d.unavailable("eBPF tracer", fam, "-", std::string("tracing unavailable: ") + kBuiltWithoutBpf);
#endif
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace faultline::harness