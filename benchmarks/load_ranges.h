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

class StreamOrder;  // stream_order.h

// One thread's reads, in order. t_ns (optional: empty, or one per range) is
// when each range was read in the recording, for gaps and for the order
// across streams (stream_order.h); dur_ns (optional, one per range) how long
// each read took there (0: not known).
struct RangeStream {
  std::vector<Range> ranges;
  std::vector<std::uint64_t> t_ns;
  std::vector<std::uint64_t> dur_ns;
  // Optional, one per range: which open of the file the range was read
  // through (a recording's Event::file; 0 = any). read and pread then use
  // one descriptor per distinct value, so each keeps its own readahead state.
  std::vector<std::uint32_t> files;
};

// Reads exactly the streams' ranges of `path` into one heap buffer the size
// of the file, each range at its own offset; the rest of the buffer is never
// written (so never resident). s.method must be read, pread, direct or uring:
//   read    each thread its own descriptor (and one more per distinct
//           RangeStream::files value): lseek to the range, read() it in one
//           call (chunk-sized calls when the spec sets chunk=; at most 1 GiB)
//   pread   pread() each range in chunk-sized calls (descriptors as read)
//   direct  O_DIRECT; each range rounded out to the alignment (st_blksize, at
//           least 4 KiB); qd > 1: io_uring with up to qd requests of a thread in
//           flight, submitted in range order; fallback=buffered as load() does
//   uring   buffered io_uring, as direct without O_DIRECT
// One thread per stream (a single stream runs on the calling thread); when
// the streams have times, in the recorded order across them (StreamOrder:
// a range waits for the other streams' ranges that ended before it started),
// else all at once; s.threads is not used (the streams are the threads).
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
  std::uint32_t file = 0;  // RangeStream::files (read, pread)
  std::size_t range = 0;   // the stream's range it is part of (for the order)
  bool first = false;      // the range's first request
};

// The order across streams a thread's requests keep: its stream's index in
// `order` (a null order: none).
struct OrderSlot {
  StreamOrder* order = nullptr;
  std::size_t stream = 0;
};

// io_uring reads of `reqs` with up to `qd` in flight, submitted in order; a
// short read resubmits the rest first. O_DIRECT lengths are rounded up to
// `align` (the buffer has room); a read that ends at EOF (`size`) returns
// short, which ends it. With an order, a range's first request is submitted
// when the order lets it start (after the requests in flight are reaped, if
// it must wait) and ranges are reported done as their requests complete.
// Throws naming the file. (load_uring.cpp and load_ranges() both read with it.)
void uring_read_requests(int fd, const std::string& path, std::uint8_t* buf, std::uint64_t size,
                         const std::vector<ReadRequest>& reqs, int qd, std::uint64_t align,
                         OrderSlot order = {});

}  // namespace detail

}  // namespace faultline
