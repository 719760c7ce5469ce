#include "harness/calibration.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "common/credentials.h"
#include "common/interrupt.h"
#include "common/process.h"
#include "common/unique_fd.h"
#include "harness/bench_json.h"
#include "harness/cell_runner.h"
#include "harness/host_cache.h"
#include "harness/storage_sweep.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

nlohmann::json bench_gbps(const CalibrationInputs& in, const std::string& strategy,
                          const std::string& cache) {
  std::string cell = fmt::format("load/{}/none/{}", strategy, cache);
  // A fresh name of our own (mkostemps: no name another user could plant a
  // symlink at; under sudo it is made with the user's file rights, so theirs);
  // the bench replaces it atomically with its --json output, read back with
  // the user's file rights.
  std::string out = "/tmp/faultline-calibration-XXXXXX.json";
  UniqueFd out_fd(::mkostemps(out.data(), 5, O_CLOEXEC));
  if (!out_fd)
    return {{"method", fmt::format("faultline-bench {}", cell)},
            {"error", fmt::format("cannot create {}: {}", out, std::strerror(errno))}};
  std::vector<std::string> argv = {
      in.bench,       "--model", in.model,
      "--strategies", strategy,  "--patterns",
      "none",         "--cache", cache,
      "--iterations", "1",       "--benchmark_filter=" + exact_filter(cell),
      "--json",       out};
  for (auto& a : global_drop_for_bench(in.drop_caches, cache, in.as_user))
    argv.push_back(std::move(a));
  nlohmann::json j = {{"method", fmt::format("faultline-bench {}", cell)}};
  auto text = capture_output(argv, 600, in.as_user, in.cgroup_procs);
  try {
    if (!text) throw std::runtime_error("faultline-bench failed");
    auto r = read_bench_json(out, cell);
    if (r.error) throw std::runtime_error(*r.error);
    // The whole file through the load (pattern none): model bytes / ready time.
    const double ready_ms = r.metrics.at(std::string(metric::kReadyMs));
    if (!(ready_ms > 0)) throw std::runtime_error("faultline-bench reported ready_ms 0");
    j["gbps"] = double(in.model_bytes) / (ready_ms * 1e6);
  } catch (const std::exception& e) {
    j["error"] = e.what();
  }
  std::error_code ec;
  std::filesystem::remove(out, ec);
  return j;
}

// One fio run of a point, as the benchmarks' user, in the calibration's
// cgroup. A buffered point starts from an evicted, verified-cold file.
PointResult run_fio_point(const CalibrationInputs& in, const FioPoint& p, std::uint64_t bytes) {
  PointResult r;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (!p.direct) {
    try {
      const Residency res = evict(in.model, in.drop_caches);
      if (res.pct() > 1.0) {
        r.error = fmt::format("not cold after eviction: {:.1f}% resident", res.pct());
        r.seconds = elapsed();
        return r;
      }
    } catch (const std::exception& e) {
      r.error = e.what();
      r.seconds = elapsed();
      return r;
    }
  }
  auto text = capture_output(fio_argv(p, in.model, bytes, in.point_runtime_s),
                             in.point_runtime_s + 60, in.as_user, in.cgroup_procs);
  r.seconds = elapsed();
  if (!text)
    r.error = "fio failed";
  else
    parse_fio_json(*text, r);
  return r;
}

// Two O_DIRECT reads of the same range: a cache below the guest shows as a
// much faster second read.
nlohmann::json host_cache_check(const CalibrationInputs& in, const std::string& engine) {
  std::uint64_t range =
      std::min<std::uint64_t>(in.model_bytes, 512ull << 20) & ~((16ull << 20) - 1);
  if (range == 0) range = in.model_bytes & ~((1ull << 20) - 1);
  const VmSigns vm = detect_vm(in.model);
  if (engine.empty() || range == 0)
    return host_cache_verdict(std::nullopt, std::nullopt, range, vm);
  const FioPoint p{engine, true, 4u << 20, 8, 1};
  auto first = run_fio_point(in, p, range);
  auto again = interrupted() ? PointResult{} : run_fio_point(in, p, range);
  auto j = host_cache_verdict(first.gbps, again.gbps, range, vm);
  j["method"] = "fio " + p.describe() + ", the same range twice";
  return j;
}

}  // namespace

nlohmann::json calibrate(const CalibrationInputs& in) {
  nlohmann::json j;
  nlohmann::json storage;
  if (!find_program("fio").empty()) {
    const auto engines = fio_async_engines(capture_output({"fio", "--enghelp"}, 30).value_or(""));
    j["host_cache"] = host_cache_check(in, engines.empty() ? "" : engines.front());
    SweepOptions options{engines, in.budget_s};
    const std::uint64_t bytes = std::min(in.model_bytes, in.point_bytes);
    storage = storage_sweep(
        options, [&](const FioPoint& p) { return run_fio_point(in, p, bytes); }, interrupted);
  } else {
    j["host_cache"] = host_cache_verdict(std::nullopt, std::nullopt, 0, detect_vm(in.model));
    j["host_cache"]["detail"] = "fio is not installed: no O_DIRECT read to tell a cache below by";
  }
  if (interrupted()) return j;
  if (storage.is_null() || storage.contains("error")) {
    auto fallback = bench_gbps(in, "direct:qd=32", "cold");
    if (!storage.is_null()) {
      fallback["fio_error"] = storage["error"];
      fallback["fio_sweep"] = storage;
    }
    storage = fallback;
  }
  j["storage"] = storage;
  j["pagecache"] = bench_gbps(in, "read", "warm");
  // Flat copies under the metric names, for analysis/.
  if (storage.contains("gbps")) j[std::string(metric::kStorageGbps)] = storage["gbps"];
  if (j["pagecache"].contains("gbps"))
    j[std::string(metric::kPagecacheGbps)] = j["pagecache"]["gbps"];
  return j;
}

}  // namespace faultline::harness
