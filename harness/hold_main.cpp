// faultline-hold: one loader of a --processes N fleet (harness/fleet.h).
// Loads the model with a strategy, touches the pattern, prints "ready", and
// holds the mapping; on "sample" from stdin prints its memory as one JSON
// line (deltas over the load, like faultline-bench); exits at stdin EOF.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/access_pattern.h"
#include "benchmarks/mapping.h"
#include "schema/metrics.h"
#include "benchmarks/process_probe.h"
#include "benchmarks/strategy.h"
#include "datasets/model_layout.h"

int main(int argc, char** argv) {
  CLI::App app{"faultline-hold: load a model, hold it, report RSS/PSS when asked"};
  std::string model, strategy = "mmap:shared", pattern = "none";
  std::uint64_t seed = 42;
  app.add_option("--model", model, "model file")->required()->check(CLI::ExistingFile);
  app.add_option("--strategy", strategy, "strategy spec")->capture_default_str();
  app.add_option("--pattern", pattern, "access pattern")->capture_default_str();
  app.add_option("--seed", seed, "seed of random:N / moe:K/N")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  namespace m = faultline::metric;
  try {
    auto layout = faultline::load_layout(model);
    auto s = faultline::parse_strategy(strategy);
    auto ranges = faultline::plan_ranges(faultline::parse_pattern(pattern), layout, seed);
    auto before = faultline::sample_process();
    auto pss_before = faultline::sample_pss_bytes();
    auto t0 = std::chrono::steady_clock::now();
    faultline::Mapping mapping = faultline::load(model, s);
    auto t1 = std::chrono::steady_clock::now();
    volatile std::uint64_t sum = faultline::touch(mapping.data(), mapping.size(), ranges);
    (void)sum;
    auto t2 = std::chrono::steady_clock::now();
    std::cout << "ready" << std::endl;
    std::string line;
    if (!std::getline(std::cin, line)) return 0;
    auto after = faultline::sample_process();
    auto pss_after = faultline::sample_pss_bytes();
    auto delta = [](std::uint64_t a, std::uint64_t b) { return double(a) - double(b); };
    nlohmann::json j = {
        {m::kReadyMs, std::chrono::duration<double, std::milli>(t1 - t0).count()},
        {m::kTotalMs, std::chrono::duration<double, std::milli>(t2 - t0).count()},
        {m::kRssBytes, delta(after.rss_bytes, before.rss_bytes)},
        {m::kRssFileBytes, delta(after.rss_file_bytes, before.rss_file_bytes)},
        {m::kRssAnonBytes, delta(after.rss_anon_bytes, before.rss_anon_bytes)},
        {m::kPssBytes, delta(pss_after, pss_before)},
        {m::kMajorFaults, delta(after.major_faults, before.major_faults)},
        {m::kMinorFaults, delta(after.minor_faults, before.minor_faults)},
    };
    std::cout << j.dump() << std::endl;
    while (std::getline(std::cin, line)) {
    }
  } catch (const std::exception& e) {
    std::cout << nlohmann::json{{"error", e.what()}}.dump() << std::endl;
    return 1;
  }
  return 0;
}
