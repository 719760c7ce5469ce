// Inside the Tracer (libbpf builds only): what a Tracer holds. tracer.cpp
// loads and reads it, tracer_syscalls.cpp serves the syscall log from it.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "bpf/tracer_availability.h"
#include "bpf/tracer_loader.h"
#include "bpf/tracer_syscalls.h"
#include "bpf/tracer_timeline.h"

namespace faultline::bpf {

struct Tracer::Impl {
  detail::SharedMaps maps;
  std::vector<detail::LoadedFamily> families;
  detail::AvailabilityInputs inputs;
  detail::Timeline timeline;
  detail::SyscallLog syscalls;
  std::string syscalls_unavailable;  // "" when the syscall log runs
  std::size_t bitmap_words = 1;
  int cgroup_fd = -1;
  int stats_fd = -1;
  int ncpus = 1;
  bool attached = false;

  ~Impl() {
    if (stats_fd >= 0) close(stats_fd);
    timeline.close();
    syscalls.close();
    families.clear();  // before the maps
    if (cgroup_fd >= 0) close(cgroup_fd);
  }
};

namespace detail {
// Opens the syscall log's ring buffer when its family loaded, else notes why
// it is not measured in impl.syscalls_unavailable; "" or a fatal error.
std::string open_syscall_log(Tracer::Impl& impl, const TraceFilter& filter);
}  // namespace detail

}  // namespace faultline::bpf
