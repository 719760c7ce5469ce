// The results reader: a run folder whose runs.jsonl holds arbitrary bytes,
// opened as --resume opens it (ResultsStore::open drops a torn last line),
// then rows(), done_keys(), and runs::validate()/row_key() on every row.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/results_store.h"
#include "harness/runs_schema.h"
#include "tests/fuzz/fuzz_support.h"

using faultline::fuzz::expect_documented_errors;
using faultline::fuzz::finding;
namespace fs = std::filesystem;

static std::string run_dir;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/faultline-fuzz-results-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  run_dir = std::string(tmpl) + "/20261128T000000Z-fuzz-quick";
  fs::create_directories(run_dir);
  std::ofstream(run_dir + "/plan.json") << "{}\n";
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(fs::path(run_dir).parent_path(), ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(run_dir + "/runs.jsonl", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  expect_documented_errors([&] {
    auto store = faultline::harness::ResultsStore::open(run_dir);
    auto rows = store.rows();
    std::size_t valid = 0;
    for (const auto& row : rows) {
      if (faultline::harness::runs::validate(row).empty()) {
        ++valid;
        (void)faultline::harness::runs::row_key(row);
      }
    }
    auto keys = store.done_keys();
    if (keys.size() > valid) finding("more done keys than valid rows");
  });
  // The schema validator on the whole input as one JSON value, too.
  expect_documented_errors([&] {
    auto parsed = faultline::fuzz::parse_json(data, size);
    if (!parsed) return;
    const nlohmann::json& j = *parsed;
    auto problems = faultline::harness::runs::validate(j);
    if (problems.empty()) (void)faultline::harness::runs::row_key(j);
  });
  return 0;
}
