// Run a test command line through popen and capture its standard output.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

namespace faultline::testing {

struct Captured {
  std::string out;
  int status = -1;  // as from pclose / waitpid
};

inline Captured capture(const std::string& command_line) {
  Captured c;
  FILE* p = ::popen(command_line.c_str(), "r");
  if (!p) return c;
  char buf[8192];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) c.out.append(buf, n);
  c.status = ::pclose(p);
  return c;
}

}  // namespace faultline::testing
