// The harness's end of the region protocol (benchmarks/region_protocol.h):
// `faultline run` keeps root and the tracer, faultline-bench asks it to
// prepare, begin and end each timed region over two pipes.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "benchmarks/region_protocol.h"
#include "bpf/region_tracer.h"

namespace faultline::bpf {

// A RegionTracer on process `pid` that answers its
// requests. The bench is not trusted: requests must come in the order
// prepare, begin, end (again and again),
// lines are short, and a bench that does not read its replies gets no more
// (the reply end is made non-blocking). Never throws; ok()/error() as
// RegionTracer's.
class RegionServer {
 public:
  RegionServer(const std::string& model, std::string timeline_dir, pid_t pid, int request_fd,
               int reply_fd);
  ~RegionServer();
  RegionServer(const RegionServer&) = delete;
  RegionServer& operator=(const RegionServer&) = delete;

  // Answers the requests that arrive within `timeout_ms` (poll). False once
  // the bench has broken the protocol (then it answers nothing more).
  bool serve(int timeout_ms);
  const std::string& violation() const { return violation_; }
  // The counters of the last region that ended, as the tracer counted them.
  const std::map<std::string, double>& last_metrics() const { return last_; }
  bool ok() const { return tracer_.ok(); }
  Availability availability() const { return tracer_.availability(); }
  const std::string& error() const { return tracer_.error(); }

  static constexpr std::size_t kMaxLine = region_protocol::kMaxLine;

 private:
  void answer(const std::string& line);
  void reply(const std::string& text);
  RegionTracer tracer_;
  int request_fd_;
  int reply_fd_;
  std::string pending_;
  enum class State { kIdle, kPrepared, kInRegion } state_ = State::kIdle;
  std::string violation_;
  std::map<std::string, double> last_;
};

}  // namespace faultline::bpf
