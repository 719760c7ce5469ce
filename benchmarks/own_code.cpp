// prefault_own_code(): this process's file mappings mapped in (own_code.h).
#include "benchmarks/own_code.h"

#include <sys/mman.h>

#include <cerrno>

#include "common/mm_flags.h"
#include "common/smaps.h"

namespace faultline {

void prefault_own_code(const std::string& model) {
  const auto model_key = file_key(model);
  for (const auto& m : read_smaps(0, "maps")) {
    if (m.inode == 0 || m.end <= m.start || m.perms.empty() || m.perms[0] != 'r') continue;
    if (model_key && m.maps(*model_key)) continue;
    void* addr = reinterpret_cast<void*>(m.start);
    const std::size_t len = m.end - m.start;
    if (::madvise(addr, len, MADV_POPULATE_READ) != 0 && errno == EINVAL)
      (void)::madvise(addr, len, MADV_WILLNEED);  // before 5.14: read ahead only
  }
}

}  // namespace faultline
