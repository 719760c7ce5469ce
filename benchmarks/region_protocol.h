// Tracing a timed region from another process. `faultline run` keeps root
// (and so the eBPF tracer) while faultline-bench runs as the invoking user:
// the bench asks the harness, over two pipes, to begin and end each region,
// and gets back the region's bpf_* counters. The protocol, one line each way:
//
//   bench -> harness   "prepare <cell>\n" harness -> bench   "ok\n"
//   bench -> harness   "begin <cell>\n"   harness -> bench   "ok\n"
//   bench -> harness   "end <cell>\n"     harness -> bench   {"bpf_...": n, ...}\n
//
// prepare comes before the bench's "before" samples (the harness touches its
// timeline buffer and starts its threads then), begin right before the
// clock starts. Both ends block only outside the timed region.
//
// This file is the protocol and faultline-bench's end of it (it needs no
// BPF); the harness's end, over the tracer, is bpf/region_server.h.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "benchmarks/measure.h"

namespace faultline {

namespace region_protocol {
inline constexpr std::size_t kMaxLine = 1024;  // longer request lines break the protocol
// Writes all of `text` (retrying on EINTR); false on error or a closed pipe.
bool write_all(int fd, const std::string& text);
// One line without its '\n'; nullopt at EOF or on error.
std::optional<std::string> read_line(int fd);
}  // namespace region_protocol

// faultline-bench's end: a RegionProbe that asks the harness. If the harness
// goes away the probe answers nothing and the bench runs on untraced.
RegionProbe remote_region_probe(int request_fd, int reply_fd);

}  // namespace faultline
