// The storage limit of calibration.json: a bounded search over fio
// configurations on the model's own file, coarse to fine, whose best three
// points are measured again; the limit is the median of those second
// measurements (a point measured once varies by tens of percent on a VM disk,
// so the best of many single runs is luck, and the second runs carry no
// selection bias). Every point is recorded.
//
//   coarse   O_DIRECT bs {1,4,16} MiB x iodepth {1,8,64} (in flight at most
//            256 MiB), one job, the preferred engine (io_uring, else libaio);
//            and one buffered sequential read (psync) after eviction
//   fine     around the best coarse point: bs x2 and /2, iodepth x2 and /2,
//            two jobs (each reading its half), the other engine
//   remeasure the best three points, once more each
//
// The search (which points, in which order, what the limit is) is separate
// from running fio, so tests drive it with a model of a disk.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::harness {

struct FioPoint {
  std::string engine = "io_uring";  // "io_uring", "libaio", or "psync" (buffered)
  bool direct = true;               // O_DIRECT; false: buffered after eviction
  std::uint64_t bs = 1u << 20;
  int iodepth = 1;
  int numjobs = 1;

  bool operator==(const FioPoint&) const = default;
  std::string describe() const;  // "io_uring O_DIRECT bs=4M iodepth=8 numjobs=1"
};

struct PointResult {
  std::optional<double> gbps;  // nullopt when it failed
  double seconds = 0;          // wall time of the measurement, fio's start included
  std::uint64_t bytes = 0;     // bytes it read
  std::string error;           // why it failed
};

struct SweepOptions {
  std::vector<std::string> engines;  // async O_DIRECT engines this fio has, preferred first
  double budget_s = 50;              // coarse and fine points stop past this; remeasure runs
};

// Runs the sweep with `measure` (one fio run of a point) and returns
// calibration.json's "storage" object: gbps (the limit), method, points,
// best, seconds, engines. Without any async engine, or when every point
// fails, "error" instead of "gbps". `stop` is polled between points.
nlohmann::json storage_sweep(const SweepOptions& options,
                             const std::function<PointResult(const FioPoint&)>& measure,
                             const std::function<bool()>& stop = {});

// fio's command line for a point on `file`: read-only, at most `max_bytes`
// (split between the jobs, each reading its own part) and `max_runtime_s`.
std::vector<std::string> fio_argv(const FioPoint& point, const std::string& file,
                                  std::uint64_t max_bytes, double max_runtime_s);

// Reads bytes and bandwidth from fio's --output-format=json (notes before the
// JSON are skipped). Sets gbps and bytes, or error.
void parse_fio_json(const std::string& text, PointResult& result);

// The async engines `fio --enghelp` lists, io_uring first, then libaio.
std::vector<std::string> fio_async_engines(const std::string& enghelp_text);

}  // namespace faultline::harness
