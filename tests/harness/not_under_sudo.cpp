// The harness tests start `faultline run` as root and expect the benchmarks
// to run as root. Started through `sudo ctest`, the inherited SUDO_UID would
// make every run drop them to the invoking user (common/credentials.h), whose
// rights the tests' 0700 temporary folders do not grant. Tests about that
// (test_least_privilege.cpp) set SUDO_UID themselves.
#include <stdlib.h>

namespace {
const bool kSudoCleared = [] {
  ::unsetenv("SUDO_UID");
  ::unsetenv("SUDO_GID");
  return true;
}();
}  // namespace
