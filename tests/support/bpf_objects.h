// The BPF programs and links the kernel holds, by id (bpf_prog_get_next_id,
// bpf_link_get_next_id): to show a test left none of its own behind. Empty
// lists when built without libbpf (FAULTLINE_HAVE_BPF, from faultline_bpf).
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if FAULTLINE_HAVE_BPF
#include <bpf/bpf.h>
#endif

namespace faultline::testing {

// Ids above `after` (0 = all), ascending.
inline std::vector<std::uint32_t> bpf_prog_ids(std::uint32_t after = 0) {
  std::vector<std::uint32_t> ids;
#if FAULTLINE_HAVE_BPF
  __u32 id = after;
  while (bpf_prog_get_next_id(id, &id) == 0) ids.push_back(id);
#else
  (void)after;
#endif
  return ids;
}

inline std::vector<std::uint32_t> bpf_link_ids(std::uint32_t after = 0) {
  std::vector<std::uint32_t> ids;
#if FAULTLINE_HAVE_BPF
  __u32 id = after;
  while (bpf_link_get_next_id(id, &id) == 0) ids.push_back(id);
#else
  (void)after;
#endif
  return ids;
}

inline std::uint32_t max_bpf_prog_id() {
  auto ids = bpf_prog_ids();
  return ids.empty() ? 0 : ids.back();
}

inline std::uint32_t max_bpf_link_id() {
  auto ids = bpf_link_ids();
  return ids.empty() ? 0 : ids.back();
}

// Waits up to `timeout_ms` for every program/link created after the given
// ids to be gone (the kernel frees them shortly after the last fd closes).
inline bool bpf_objects_gone(std::uint32_t prog_after, std::uint32_t link_after,
                             int timeout_ms = 3000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (bpf_prog_ids(prog_after).empty() && bpf_link_ids(link_after).empty()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace faultline::testing
