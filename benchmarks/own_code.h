// This process's own code and data, mapped in before a timed region. A host
// that evicted them (a global drop_caches before a cold cell, proactive
// reclaim of a binary that was not running) could otherwise have the load's
// first calls into code not run yet read it from storage inside the region,
// counted as the load's read_bytes and major faults. (One CI run saw a
// `read` replay read 192 KiB more than its 40 recorded pages while exactly
// those pages were resident; this removes one possible cause, which I could
// not reproduce: faultline-bench's startup reads most of its binary ahead.)
#pragma once

#include <string>

namespace faultline {

// MADV_POPULATE_READ (else MADV_WILLNEED) over every readable file-backed
// mapping of this process (the executable, its libraries, the locale
// archive) but those of `model` (a cold model stays cold). Cheap when they
// are resident; errors are ignored (nothing to measure here).
void prefault_own_code(const std::string& model);

}  // namespace faultline
