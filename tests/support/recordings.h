// Recordings for replay tests (recording/README.md): K scattered 4 KiB reads
// (or faults) of a file, and which pages of a file are in the page cache.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "recording/recording.h"

namespace faultline::testing {

// K distinct pseudorandom page indexes of a file of `bytes`, in a shuffled
// (not file) order.
inline std::vector<std::uint64_t> scattered_pages(std::uint64_t bytes, std::size_t k,
                                                  std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> pick(0, bytes / 4096 - 1);
  std::set<std::uint64_t> seen;
  std::vector<std::uint64_t> out;
  while (out.size() < k)
    if (std::uint64_t p = pick(rng); seen.insert(p).second) out.push_back(p);
  return out;
}

// A recording of `pages` (each 4 KiB, in that order) as `op` events of the
// thread tids[i % tids.size()], 1 µs apart, for a file of `bytes`.
inline void write_page_recording(const std::string& path, const std::string& file,
                                 std::uint64_t bytes, const std::vector<std::uint64_t>& pages,
                                 recording::Op op = recording::Op::kRead,
                                 std::vector<std::uint32_t> tids = {1}) {
  recording::Recording r;
  r.header.path = file;
  r.header.file_bytes = bytes;
  r.header.threads = static_cast<int>(tids.size());
  r.header.complete = {true, "all", false, false, 0, "written by a test"};
  for (std::size_t i = 0; i < pages.size(); ++i) {
    recording::Event e;
    e.t_ns = i * 1000;
    e.tid = tids[i % tids.size()];
    e.op = op;
    e.offset = pages[i] * 4096;
    e.bytes = 4096;
    if (op == recording::Op::kRead) e.detail = "pread64";
    r.events.push_back(e);
  }
  recording::write_recording(path, r);
}

// The page indexes of `path` in the page cache (mmap + mincore).
inline std::set<std::uint64_t> resident_page_set(const std::string& path) {
  UniqueFd fd = open_or_throw(path, O_RDONLY);
  struct stat st {};
  ::fstat(fd.get(), &st);
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap " + path);
  std::vector<unsigned char> vec((size + 4095) / 4096);
  const int rc = ::mincore(p, size, vec.data());
  ::munmap(p, size);
  if (rc != 0) throw std::runtime_error("mincore " + path);
  std::set<std::uint64_t> out;
  for (std::size_t i = 0; i < vec.size(); ++i)
    if (vec[i] & 1) out.insert(i);
  return out;
}

}  // namespace faultline::testing
