// The per-method loaders behind load() (mapping.cpp dispatches). Internal to
// benchmarks/: everything else calls load().
#pragma once

#include <cstdint>
#include <string>

#include "benchmarks/mapping.h"

namespace faultline::detail {

Mapping load_read(const std::string& path, const Strategy& s);    // load_read.cpp
Mapping load_pread(const std::string& path, const Strategy& s);   // load_read.cpp
Mapping load_direct(const std::string& path, const Strategy& s);  // load_uring.cpp
Mapping load_uring(const std::string& path, const Strategy& s);   // load_uring.cpp
Mapping load_mmap(const std::string& path, const Strategy& s);    // load_mmap.cpp

// Size of the open file; throws when it is not a regular, non-empty file.
std::uint64_t file_size_of(int fd, const std::string& path);

}  // namespace faultline::detail
