// Reading given ranges of a file (not the whole file) with a read-based
// strategy: the replay of a recording (replay:FILE) and any loader that reads
// the file piece by piece (per-tensor reads) can use it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "benchmarks/access_pattern.h"
#include "benchmarks/mapping.h"

namespace faultline {

// One thread's reads, in order. t_ns (optional: empty, or one per range) is
// when each range was read in the recording, for gaps.
struct RangeStream {
  std::vector<Range> ranges;
  std::vector<std::uint64_t> t_ns;
};

// Reads exactly the streams' ranges of `path` into one heap buffer the size
// of the file, each range at its own offset; the rest of the buffer is never
// written (so never resident). s.method must be read, pread, direct or uring:
//   read    each thread its own descriptor: lseek to the range, read() it in
//           chunk-sized calls
//   pread   pread() each range in chunk-sized calls
//   direct  O_DIRECT; each range rounded out to the alignment (st_blksize, at
//           least 4 KiB); qd > 1: io_uring with up to qd requests of a thread in
//           flight, submitted in range order; fallback=buffered as load() does
//   uring   buffered io_uring, as direct without O_DIRECT
// One thread per stream (a single stream runs on the calling thread), all
// started together; s.threads is not used (the streams are the threads).
// gaps: sleep t_ns[i] - t_ns[i-1] before range i of a stream. Ranges are
// clipped to the file. Throws naming the file, like load().
Mapping load_ranges(const std::string& path, const Strategy& s,
                    const std::vector<RangeStream>& streams, bool gaps = false);

// Runs fn(i) for i in [0, n): on the calling thread when n == 1, else one
// thread each, all released together; rethrows the first error.
void run_streams(std::size_t n, const std::function<void(std::size_t)>& fn);

// True for the strategies load_ranges() reads with (read, pread, direct, uring).
bool reads_into_buffer(const Strategy& s);

namespace detail {

// One read: [offset, offset + len) of the file into buf + offset, after
// sleeping sleep_ns (a recorded gap; 0: none). len 0: only the sleep.
struct ReadRequest {
  std::uint64_t offset = 0, len = 0, sleep_ns = 0;
};

// io_uring reads of `reqs` with up to `qd` in flight, submitted in order; a
// short read resubmits the rest first. O_DIRECT lengths are rounded up to
// `align` (the buffer has room); a read that ends at EOF (`size`) returns
// short, which ends it. Throws naming the file. (load_uring.cpp and
// load_ranges() both read with it.)
void uring_read_requests(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t size,
                         const std::vector<ReadRequest>& reqs, int qd, std::uint64_t align);

}  // namespace detail

}  // namespace faultline
