// Tracing a timed region from another process. `faultline run` keeps root
// (and so the eBPF tracer) while faultline-bench runs as the invoking user:
// the bench asks the harness, over two pipes, to begin and end each region,
// and gets back the region's bpf_* counters. The one protocol, both ends:
//
//   bench -> harness   "begin <cell>\n"   harness -> bench   "ok\n"
//   bench -> harness   "end <cell>\n"     harness -> bench   {"bpf_...": n, ...}\n
//
// Both ends block only outside the timed region.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "benchmarks/measure.h"
#include "bpf/region_tracer.h"

namespace faultline::bpf {

// faultline-bench's end: a RegionProbe that asks the harness. If the harness
// goes away the probe answers nothing and the bench runs on untraced.
RegionProbe remote_region_probe(int request_fd, int reply_fd);

// The harness's end: a RegionTracer on process `pid` that answers its
// requests. Never throws; ok()/error() as RegionTracer's.
class RegionServer {
 public:
  RegionServer(const std::string& model, std::string timeline_dir, pid_t pid, int request_fd,
               int reply_fd);
  ~RegionServer();
  RegionServer(const RegionServer&) = delete;
  RegionServer& operator=(const RegionServer&) = delete;

  // Answers the requests that arrive within `timeout_ms` (poll).
  void serve(int timeout_ms);
  bool ok() const { return tracer_.ok(); }
  const std::string& error() const { return tracer_.error(); }

 private:
  void answer(const std::string& line);
  RegionTracer tracer_;
  int request_fd_;
  int reply_fd_;
  std::string pending_;
};

}  // namespace faultline::bpf
