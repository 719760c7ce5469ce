// faultline-validate-rows: the C++ row validator (harness/runs_schema.h) as a
// filter for tests/schema/test_schema.py: one JSON line in, one line out:
// the JSON array of problems, or "unparsable" when nlohmann cannot parse it.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/cli.h"
#include "harness/runs_schema.h"

int main(int argc, char** argv) {
  CLI::App app{"faultline-validate-rows: one runs.jsonl row per stdin line in, its problems out",
               "faultline-validate-rows"};
  faultline::cli::add_version_flag(app, "faultline-validate-rows");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return faultline::cli::exit_status(app, e);
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_discarded()) {
      std::cout << "unparsable\n";
      continue;
    }
    std::cout << nlohmann::json(faultline::harness::runs::validate(row)).dump() << "\n";
  }
  return 0;
}
