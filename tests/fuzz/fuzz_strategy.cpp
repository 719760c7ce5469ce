// Strategy specs and access patterns: parse_strategy, parse_strategy_list,
// parse_pattern, parse_pattern_list on arbitrary text, plus the round trip:
// whatever parses prints to a canonical spec that parses back to an equal
// value and prints the same again.
#include "benchmarks/access_pattern.h"
#include "benchmarks/strategy.h"
#include "tests/fuzz/fuzz_support.h"

using faultline::fuzz::expect_documented_errors;
using faultline::fuzz::finding;

static void strategy_round_trip(const faultline::Strategy& s) {
  std::string canon = faultline::to_string(s);
  faultline::Strategy back;
  try {
    back = faultline::parse_strategy(canon);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "canonical spec '%s' does not parse: %s\n", canon.c_str(), e.what());
    finding("strategy round trip: to_string output rejected");
  }
  if (!(back == s)) {
    std::fprintf(stderr, "canonical spec '%s' parses to another strategy\n", canon.c_str());
    finding("strategy round trip: not equal");
  }
  if (faultline::to_string(back) != canon) finding("strategy round trip: not a fixed point");
}

static void pattern_round_trip(const faultline::AccessPattern& p) {
  std::string canon = faultline::to_string(p);
  faultline::AccessPattern back;
  try {
    back = faultline::parse_pattern(canon);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "canonical pattern '%s' does not parse: %s\n", canon.c_str(), e.what());
    finding("pattern round trip: to_string output rejected");
  }
  if (!(back == p)) {
    std::fprintf(stderr, "canonical pattern '%s' parses to another pattern\n", canon.c_str());
    finding("pattern round trip: not equal");
  }
  if (faultline::to_string(back) != canon) finding("pattern round trip: not a fixed point");
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;  // specs are short; long inputs only slow the search
  std::string_view text(reinterpret_cast<const char*>(data), size);
  expect_documented_errors([&] { strategy_round_trip(faultline::parse_strategy(text)); });
  expect_documented_errors([&] {
    for (const auto& s : faultline::parse_strategy_list(text)) strategy_round_trip(s);
  });
  expect_documented_errors([&] { pattern_round_trip(faultline::parse_pattern(text)); });
  expect_documented_errors([&] {
    for (const auto& p : faultline::parse_pattern_list(text)) pattern_round_trip(p);
  });
  return 0;
}
