// faultline-validate-rows: the C++ row validator (harness/runs_schema.h) as a
// filter for tests/schema/test_schema.py: one JSON line in, one line out:
// the JSON array of problems, or "unparsable" when nlohmann cannot parse it.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/runs_schema.h"

int main() {
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
