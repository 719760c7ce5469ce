// SUDO_UID / SUDO_GID set for a scope: what sudo hands the commands it runs,
// so a root test can play "started through sudo by uid N" (the least-privilege
// tests of tests/harness and tests/bpf).
#pragma once

#include <stdlib.h>
#include <sys/types.h>

#include <string>

namespace faultline::testing {

class AsIfSudo {
 public:
  explicit AsIfSudo(uid_t uid) {
    ::setenv("SUDO_UID", std::to_string(uid).c_str(), 1);
    ::setenv("SUDO_GID", std::to_string(uid).c_str(), 1);
  }
  ~AsIfSudo() {
    ::unsetenv("SUDO_UID");
    ::unsetenv("SUDO_GID");
  }
  AsIfSudo(const AsIfSudo&) = delete;
  AsIfSudo& operator=(const AsIfSudo&) = delete;
};

}  // namespace faultline::testing
