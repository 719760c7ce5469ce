// Symbolic names of the flag and advice values of the calls `faultline
// trace` logs (bpf/tracer.h SyscallEvent): "O_RDONLY|O_CLOEXEC",
// "MAP_SHARED|MAP_POPULATE", "MADV_WILLNEED", ... Unknown bits print in hex.
#pragma once

#include <cstdint>
#include <string>

#include "common/mm_flags.h"

namespace faultline::harness {

std::string open_flags(std::uint64_t flags);
std::string mmap_prot(std::uint64_t prot);
std::string mmap_flags(std::uint64_t flags);
std::string madvise_advice(std::uint64_t advice);  // "MADV_WILLNEED"
std::string fadvise_advice(std::uint64_t advice);  // "POSIX_FADV_SEQUENTIAL"
std::string mlock2_flags(std::uint64_t flags);     // "0", "MLOCK_ONFAULT"

// The strategy-spec key value of an advice ("willneed", "populate_read"), or
// "" when the spec has no such value.
std::string madvise_key(std::uint64_t advice);
std::string fadvise_key(std::uint64_t advice);

}  // namespace faultline::harness
