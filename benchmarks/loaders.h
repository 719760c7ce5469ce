// The per-method loaders behind load() (mapping.cpp dispatches). Internal to
// benchmarks/: everything else calls load().
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "benchmarks/mapping.h"

namespace faultline::detail {

Mapping load_read(const std::string& path, const Strategy& s);    // load_read.cpp
Mapping load_pread(const std::string& path, const Strategy& s);   // load_read.cpp
Mapping load_direct(const std::string& path, const Strategy& s);  // load_uring.cpp
Mapping load_uring(const std::string& path, const Strategy& s);   // load_uring.cpp
Mapping load_mmap(const std::string& path, const Strategy& s,
                  const ModelLayout* layout);  // load_mmap.cpp
// read:tensors: one lseek()+read() per tensor, in llama.cpp's no-mmap order.
Mapping load_tensors(const std::string& path, const Strategy& s,
                     const ModelLayout* layout);  // load_read.cpp
// copy and reclaim over a loaded mapping (load_mmap.cpp's last steps).
void copy_tensors(Mapping& m, const Strategy& s, const ModelLayout& layout,
                  const std::string& path);  // load_copy.cpp

// pread [begin, end) of fd into buf + begin, `chunk` bytes per call, each
// request length rounded up to `align` (O_DIRECT; the buffer must have room),
// retrying on EINTR and short reads. Throws naming the file.
void pread_range(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t begin,
                 std::uint64_t end, std::uint64_t chunk, std::uint64_t align = 1);

// RLIMIT_MEMLOCK as text ("64M", "unlimited"), for mlock failures. load_mmap.cpp
std::string memlock_limit_text();

// Size of the open file; throws when it is not a regular, non-empty file.
std::uint64_t file_size_of(int fd, const std::string& path);

// What an O_DIRECT read refused with EINVAL means: the alignment is wrong.
inline std::runtime_error direct_alignment_error(const std::string& path, std::uint64_t align) {
  return std::runtime_error(path +
                            ": O_DIRECT read refused (EINVAL): the filesystem or device needs "
                            "another alignment than " +
                            std::to_string(align) + " bytes");
}

}  // namespace faultline::detail
