// Inside the Tracer: its Availability from the families it loaded
// (bpf/tracer_availability.cpp).
#pragma once

#include <vector>

#include "bpf/tracer_loader.h"
#include "common/availability.h"

namespace faultline::bpf::detail {

struct AvailabilityInputs {
  bool file_filter = false;              // files were given
  bool unused_requested = false;         // TraceFilter::track_unused (with files)
  bool user_faults_via_latency = false;  // no page_fault_user: counted at fault exit
};

Availability tracer_availability(const std::vector<LoadedFamily>& families,
                                 const AvailabilityInputs& inputs);

}  // namespace faultline::bpf::detail
