// The fixture of the robustness tests (test_robustness.cpp,
// test_kill_and_resume.cpp): a 32 MiB model, a results folder per test, and
// what they look for in /proc (processes, BPF objects held by others).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/process.h"
#include "tests/harness/run_helpers.h"
#include "tests/harness/suite_folder.h"

namespace faultline::harness::testing {

namespace fs = std::filesystem;

inline std::string cmdline(const std::string& pid_dir) {
  std::string s = slurp(pid_dir + "/cmdline");
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

// Live processes whose command line mentions `needle` (our model's unique
// temporary folder), other than this test itself.
inline std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(name) == ::getpid()) continue;
    std::string status = slurp(e.path().string() + "/status");
    if (status.find("State:\tZ") != std::string::npos) continue;  // a zombie holds nothing
    std::string cmd = cmdline(e.path().string());
    if (cmd.find(needle) != std::string::npos) out.push_back(name + ": " + cmd);
  }
  return out;
}

// BPF ids (programs or links, by the fdinfo key "prog_id:" / "link_id:") held
// by a process whose command line does NOT mention `needle`: someone else's.
inline std::set<std::uint32_t> held_by_others(const std::string& key, const std::string& needle) {
  std::set<std::uint32_t> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (cmdline(e.path().string()).find(needle) != std::string::npos) continue;
    std::error_code ec2;
    for (const auto& f : fs::directory_iterator(e.path() / "fdinfo", ec2)) {
      std::ifstream in(f.path());
      std::string line;
      while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) ids.insert(std::uint32_t(std::stoul(line.substr(key.size()))));
    }
  }
  return ids;
}

}  // namespace faultline::harness::testing

namespace faultline::harness {

// What both suites use (a test header: these names are theirs).
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;
using testing::cmdline;
using testing::held_by_others;
using testing::processes_mentioning;
using testing::slurp;

class Robustness : public testing::RunSuite<Robustness> {
 public:
  static constexpr const char* kFolderPrefix = "faultline-robust-test";
  static constexpr std::uint64_t kModelBytes = 32ull << 20;
  static constexpr std::uint64_t kSeed = 11;

 protected:
  void SetUp() override {
    RunSuite::SetUp();
    std::filesystem::create_directories(results_);
  }
  pid_t start(std::vector<std::string> args, const std::string& tag = "") {
    return testing::start_faultline(std::move(args), results_ + tag);
  }
  std::string err_text(const std::string& tag = "") {
    return testing::slurp(results_ + tag + ".err");
  }
  int finish(pid_t pid) {
    ExitInfo e = wait_child(pid, 600);
    return e.exit_code.value_or(128 + e.term_signal.value_or(0));
  }
};

}  // namespace faultline::harness
