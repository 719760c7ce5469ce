// What the process tests look at: the kernel's account of a process
// (/proc/<pid>/status, stat, fd), not timings.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace faultline::testing {

// "Uid:\t0\t0\t0\t0" -> "0\t0\t0\t0" (trailing blanks dropped).
inline std::string status_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      return v;
    }
  return "";
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'Z'...), 0 when gone.
inline char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? 0 : text[paren + 2];
}

// Gone, or a zombie that its new parent has yet to reap.
inline bool is_gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  const char s = process_state(pid);
  return s == 0 || s == 'Z' || s == 'X';
}

// Waits up to `limit` (a generous "did not hang" bound) for the pid to go.
inline bool gone_within(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!is_gone(pid)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Every process whose process group is `pgid`.
inline std::vector<pid_t> processes_in_group(pid_t pgid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream f(text.substr(paren + 2));
    char state;
    pid_t ppid, pgrp;
    if (f >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z')
      out.push_back(pid_t(std::stol(name)));
  }
  return out;
}

// Where /proc/<pid>/fd/<fd> points, "" when not open.
inline std::string fd_target(pid_t pid, int fd) {
  std::error_code ec;
  auto t = std::filesystem::read_symlink(
      "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
  return ec ? "" : t.string();
}

}  // namespace faultline::testing
