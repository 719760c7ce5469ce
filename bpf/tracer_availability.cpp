// What a Tracer measures, as data (Tracer::availability): the probes that
// attached, and for every bpf_* metric of results/schema.json
// (faultline::metric::kAll, by family) that it cannot measure, why not.
#include "bpf/tracer_availability.h"

#include <fmt/format.h>

#include "schema/metrics.h"

namespace faultline::bpf::detail {
namespace {

const LoadedFamily* find(const std::vector<LoadedFamily>& families, std::string_view name) {
  for (const auto& f : families)
    if (f.spec->name == name) return &f;
  return nullptr;
}

std::string failures_of(const LoadedFamily& f) {
  return f.failures.empty() ? "not loaded" : fmt::format("{}", fmt::join(f.failures, " and "));
}

}  // namespace

Availability tracer_availability(const std::vector<LoadedFamily>& families,
                                 const AvailabilityInputs& in) {
  Availability a;
  for (const auto& f : families)
    for (bpf_program* p : f.programs)
      if (f.ok()) a.add_probe(bpf_program__section_name(p));

  const Families& fam = detail::families();
  auto family_reason = [&](std::string_view name) -> std::string {
    const LoadedFamily* f = find(families, name);
    if (name == fam.faults_user && (!f || !f->ok()) && in.user_faults_via_latency) {
      const LoadedFamily* lat = find(families, fam.fault_latency);
      if (lat && lat->ok()) return "";  // user-mode faults counted at handle_mm_fault exit
    }
    if (!f) return fmt::format("{}: not loaded", name);
    return f->ok() ? "" : fmt::format("{}: {}", name, failures_of(*f));
  };

  std::string unused_reason;
  if (!in.file_filter) {
    unused_reason = "never-used tracking needs a file filter (--file)";
  } else if (!in.unused_requested) {
    unused_reason = "never-used tracking is off (TraceFilter::track_unused)";
  } else {
    std::vector<std::string> missing;
    for (std::string_view part :
         {fam.pagecache, fam.faults_filemap, fam.faults_user, std::string_view("syscalls")}) {
      const LoadedFamily* f = find(families, part);
      if (!f || !f->ok())
        missing.push_back(f ? fmt::format("{} ({})", part, failures_of(*f)) : std::string(part));
      else if (!f->unused)
        missing.push_back(fmt::format("{} without it ({})", part, f->unused_failure));
    }
    if (!missing.empty())
      unused_reason = fmt::format(
          "bpf_ra_unused_pages needs the whole never-used bookkeeping (page-cache adds and "
          "evictions, read() batches, faults, fault-around, PMD maps, populate/mlock calls); "
          "missing: {}",
          fmt::join(missing, "; "));
  }

  for (const auto& info : faultline::metric::kAll) {
    if (!info.family.starts_with("bpf_")) continue;
    std::string why;
    if (info.family == fam.unused)
      why = unused_reason;
    else if (info.family != fam.timeline)  // the ring buffer's drop count: always there
      why = family_reason(info.family);
    if (why.empty() && info.name == faultline::metric::kBpfRaPages)
      if (auto pc = family_reason(fam.pagecache); !pc.empty())
        why = fmt::format("{} needs {} too: {}", info.name, fam.pagecache, pc);
    if (why.empty() && info.name == faultline::metric::kBpfPagecacheEvictPages && !in.file_filter)
      why = "evictions are counted for traced files only (--file)";
    if (!why.empty()) a.not_measured_because(std::string(info.name), why);
  }
  return a;
}

}  // namespace faultline::bpf::detail
