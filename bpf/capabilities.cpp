// Can this process trace? Checked before anything is loaded, so callers get
// one clear sentence instead of a verifier log.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bpf/tracer.h"

#ifndef FAULTLINE_HAVE_BPF
#define FAULTLINE_HAVE_BPF 0
#endif

namespace faultline::bpf {
#if FAULTLINE_HAVE_BPF
namespace {

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool has_effective_cap(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace
#endif

std::optional<std::string> tracing_unavailable_reason() {
#if !FAULTLINE_HAVE_BPF
  return std::string("built without BPF support (") + FAULTLINE_BPF_MISSING + ")";
#else
  const bool admin = has_effective_cap(CAP_SYS_ADMIN);
  if (!admin && !(has_effective_cap(CAP_BPF) && has_effective_cap(CAP_PERFMON)))
    return fmt::format("needs root or CAP_BPF + CAP_PERFMON (running as uid {}; try sudo)",
                       geteuid());
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return std::string("the running kernel has no BTF (/sys/kernel/btf/vmlinux missing)");
  return std::nullopt;
#endif
}

}  // namespace faultline::bpf
