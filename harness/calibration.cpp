#include "harness/calibration.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "benchmarks/cache.h"
#include "schema/metrics.h"
#include "benchmarks/unique_fd.h"
#include "harness/bench_json.h"
#include "harness/cell_runner.h"
#include "harness/child_process.h"
#include "harness/credentials.h"

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
  std::vector<std::string> argv = {in.bench,
                                   "--model",
                                   in.model,
                                   "--strategies",
                                   strategy,
                                   "--patterns",
                                   "none",
                                   "--cache",
                                   cache,
                                   "--iterations",
                                   "1",
                                   "--benchmark_filter=" + exact_filter(cell),
                                   "--json",
                                   out};
  for (auto& a : global_drop_for_bench(in.drop_caches, cache, in.as_user))
    argv.push_back(std::move(a));
  nlohmann::json j = {{"method", fmt::format("faultline-bench {}", cell)}};
  auto text = capture_output(argv, 600, in.as_user);
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

nlohmann::json fio_gbps(const CalibrationInputs& in) {
  std::uint64_t size = std::min<std::uint64_t>(in.model_bytes, 2ull << 30) & ~((1ull << 20) - 1);
  if (size == 0) size = in.model_bytes;
  std::vector<std::string> argv = {"fio",
                                   "--name=faultline-seqread",
                                   "--filename=" + in.model,
                                   "--readonly",
                                   "--rw=read",
                                   "--bs=1M",
                                   "--direct=1",
                                   "--ioengine=libaio",
                                   "--iodepth=32",
                                   "--invalidate=1",
                                   fmt::format("--size={}", size),
                                   "--output-format=json"};
  nlohmann::json j = {{"method", "fio O_DIRECT sequential read, bs=1M, iodepth=32, libaio"}};
  auto text = capture_output(argv, 600, in.as_user);
  if (!text) {
    j["error"] = "fio failed";
    return j;
  }
  // fio may print notes before the JSON.
  auto brace = text->find('{');
  auto parsed =
      nlohmann::json::parse(brace == std::string::npos ? "" : text->substr(brace), nullptr, false);
  try {
    double bw = parsed.at("jobs").at(0).at("read").at("bw_bytes").get<double>();
    j["gbps"] = bw / 1e9;
    j["bytes"] = size;
  } catch (const std::exception& e) {
    j["error"] = fmt::format("cannot read fio's JSON: {}", e.what());
  }
  return j;
}

}  // namespace

nlohmann::json calibrate(const CalibrationInputs& in) {
  nlohmann::json j;
  nlohmann::json storage;
  if (!find_program("fio").empty()) storage = fio_gbps(in);
  if (storage.is_null() || storage.contains("error")) {
    auto fallback = bench_gbps(in, "direct:qd=32", "cold");
    if (!storage.is_null()) fallback["fio_error"] = storage["error"];
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
