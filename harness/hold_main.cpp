// faultline-hold: one loader of a --processes N fleet (harness/fleet.h). One
// JSON line on stdout per step, each answering the harness:
//   start              parses the model header         {"parsed": true, "tensors": n}
//   stdin "check"      verifies the cache state itself {"verified": true, "resident_pct": x, ...}
//                      (cold <= 1 %, warm >= 99 %)     or {"error": "..."} and exit 1
//   the barrier        blocks until the harness closes the barrier pipe (--barrier-fd), the
//                      one release of every loader; then loads with the strategy, touches the
//                      pattern                         {"ready": true}
//   stdin "sample"     its memory while every loader holds its mapping, and the region's
//                      faults and I/O (deltas over release -> ready, like faultline-bench)
//   stdin EOF          exits.
// Any failure: {"error": "..."} and exit 1.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/access_pattern.h"
#include "benchmarks/cache.h"
#include "benchmarks/mapping.h"
#include "benchmarks/process_probe.h"
#include "benchmarks/strategy.h"
#include "common/cli.h"
#include "datasets/model_layout.h"
#include "schema/metrics.h"

namespace {

void say(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;
}

// Blocks until the harness closes its end of the barrier pipe (EOF).
void wait_for_release(int fd) {
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 0) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("barrier: {}", std::strerror(errno)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faultline-hold: one loader of a faultline run --processes N fleet"};
  std::string model, strategy = "mmap:shared", pattern = "none", cache = "warm";
  std::uint64_t seed = 42;
  int barrier_fd = -1;
  app.add_option("--model", model, "model file")->required()->check(CLI::ExistingFile);
  // The names of faultline-bench and run (one strategy and one pattern here);
  // --strategy and --pattern, which `faultline run` passes, are aliases.
  app.add_option("--strategies,--strategy", strategy, "one strategy spec")->capture_default_str();
  app.add_option("--patterns,--pattern", pattern, "one access pattern")->capture_default_str();
  app.add_option("--seed", seed, "seed of random:N and moe:K/N")->capture_default_str();
  app.add_option("--cache", cache, "the cache state to verify: cold or warm")
      ->check(CLI::IsMember({"cold", "warm"}))
      ->capture_default_str();
  app.add_option("--barrier-fd", barrier_fd,
                 "descriptor whose EOF releases the load (default: released at once)");
  faultline::cli::add_version_flag(app, "faultline-hold");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return faultline::cli::exit_status(app, e);
  }
  namespace m = faultline::metric;
  try {
    auto layout = faultline::load_layout(model);
    auto s = faultline::parse_strategy(strategy);
    auto ranges = faultline::plan_ranges(faultline::parse_pattern(pattern), layout, seed);
    say({{"parsed", true}, {"tensors", layout.tensors.size()}});

    std::string line;
    if (!std::getline(std::cin, line)) return 0;
    if (line != "check") throw std::runtime_error("expected \"check\", got: " + line);
    const auto res = faultline::residency(model);
    const bool cold = cache == "cold";
    if (cold ? res.pct() > 1.0 : res.pct() < 99.0)
      throw std::runtime_error(fmt::format(
          "{}: {:.1f}% of {} resident before the load (needs {}), checked by loader {} with {}",
          cache, res.pct(), model, cold ? "<= 1 %" : ">= 99 %", ::getpid(), res.method));
    say({{"verified", true},
         {m::kResidentPct, res.pct()},
         {"cache", cache},
         {"method", res.method}});

    auto before = faultline::sample_process();
    auto pss_before = faultline::sample_pss_bytes();
    if (barrier_fd >= 0) {
      wait_for_release(barrier_fd);
      ::close(barrier_fd);
    }
    auto t0 = std::chrono::steady_clock::now();
    faultline::Mapping mapping = faultline::load(model, s);
    auto t1 = std::chrono::steady_clock::now();
    volatile std::uint64_t sum = faultline::touch(mapping.data(), mapping.size(), ranges);
    (void)sum;
    auto t2 = std::chrono::steady_clock::now();
    auto at_ready = faultline::sample_process();
    say({{"ready", true}});

    if (!std::getline(std::cin, line)) return 0;
    auto after = faultline::sample_process();
    auto pss_after = faultline::sample_pss_bytes();
    auto delta = [](std::uint64_t a, std::uint64_t b) { return double(a) - double(b); };
    say({
        {m::kReadyMs, std::chrono::duration<double, std::milli>(t1 - t0).count()},
        {m::kTotalMs, std::chrono::duration<double, std::milli>(t2 - t0).count()},
        {m::kRssBytes, delta(after.rss_bytes, before.rss_bytes)},
        {m::kRssFileBytes, delta(after.rss_file_bytes, before.rss_file_bytes)},
        {m::kRssAnonBytes, delta(after.rss_anon_bytes, before.rss_anon_bytes)},
        {m::kPssBytes, delta(pss_after, pss_before)},
        {m::kMajorFaults, delta(at_ready.major_faults, before.major_faults)},
        {m::kMinorFaults, delta(at_ready.minor_faults, before.minor_faults)},
        {m::kReadBytes, delta(at_ready.read_bytes, before.read_bytes)},
        {m::kResidentPct, res.pct()},
    });
    while (std::getline(std::cin, line)) {
    }
  } catch (const std::exception& e) {
    say({{"error", e.what()}});
    return 1;
  }
  return 0;
}
