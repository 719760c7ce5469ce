// The --plan JSON file: PlanRequest::merge_plan_file, then resolve_plan on
// what it produced; and plan_from_json (the plan.json --resume reads back),
// whose output must survive to_json -> plan_from_json unchanged.
#include "harness/plan.h"
#include "tests/fuzz/fuzz_support.h"

using faultline::fuzz::expect_documented_errors;
using faultline::fuzz::finding;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::MemFile file;
  const std::string& path = file.write(data, size);
  expect_documented_errors([&] {
    faultline::harness::PlanRequest req;
    req.merge_plan_file(path);
    // No model generation or binding: resolve_plan only parses and checks.
    faultline::harness::resolve_plan(req, 1);
  });
  expect_documented_errors([&] {
    auto parsed = faultline::fuzz::parse_json(data, size);
    if (!parsed) return;
    const nlohmann::json& j = *parsed;
    faultline::harness::Plan p = faultline::harness::plan_from_json(j);
    auto again = faultline::harness::to_json(p);
    faultline::harness::Plan q;
    try {
      q = faultline::harness::plan_from_json(again);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "to_json output rejected: %s\n%s\n", e.what(), again.dump().c_str());
      finding("plan round trip: to_json output rejected");
    }
    if (faultline::harness::to_json(q) != again) finding("plan round trip: not a fixed point");
  });
  return 0;
}
