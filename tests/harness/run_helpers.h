// Running the faultline executable from a test: start it with its stdout and
// stderr in files, wait for it, read its run folder and rows.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/credentials.h"
#include "common/process.h"

namespace faultline::harness::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int code = -1;  // exit status, 128 + signal when killed
  std::string out, err;
  // The last non-empty line of stdout.
  std::string last_line() const {
    std::string line, last;
    std::istringstream in(out);
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return last;
  }
};

// Starts `faultline <args>` (as `as_user` when given); its stdout and stderr
// go to <base>.out / .err.
inline pid_t start_faultline(std::vector<std::string> args, const std::string& base,
                             const Credentials* as_user = nullptr) {
  args.insert(args.begin(), FAULTLINE_EXE);
  int out = ::open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = ::open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SpawnOptions o{args, {}, -1, out, err};
  o.as_user = as_user;
  pid_t pid = spawn(o);
  ::close(out);
  ::close(err);
  return pid;
}

inline RunResult finish_faultline(pid_t pid, const std::string& base, double timeout_s = 600) {
  RunResult r;
  ExitInfo e = wait_child(pid, timeout_s);
  r.code = e.exit_code.value_or(128 + e.term_signal.value_or(0));
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

inline RunResult run_faultline(std::vector<std::string> args, const std::string& base,
                               const Credentials* as_user = nullptr) {
  return finish_faultline(start_faultline(std::move(args), base, as_user), base);
}

// The run folders under a --results folder.
inline std::vector<std::string> run_folders(const std::string& results) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(results, ec))
    if (e.is_directory()) dirs.push_back(e.path().string());
  return dirs;
}

inline std::vector<nlohmann::json> read_rows(const std::string& folder) {
  std::vector<nlohmann::json> out;
  std::ifstream in(folder + "/runs.jsonl");
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// An executable shell script standing in for faultline-bench (tests only:
// the product never starts a shell).
inline std::string fake_bench(const std::string& dir, const std::string& name,
                              const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

// An environment variable set for a scope, then restored.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
};

}  // namespace faultline::harness::testing
