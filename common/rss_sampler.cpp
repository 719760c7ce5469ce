#include "common/rss_sampler.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace faultline {

bool read_status_rss(pid_t pid, ProcStatusRss& out) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  if (!status) return false;
  out = {};
  std::string key;
  std::uint64_t kb = 0;
  bool any = false;
  while (status >> key) {
    auto take = [&](const char* name, std::uint64_t& field) {
      if (key != name) return false;
      status >> kb;
      field = kb * 1024;
      any = true;
      return true;
    };
    if (!take("VmRSS:", out.rss_bytes) && !take("RssAnon:", out.anon_bytes) &&
        !take("RssFile:", out.file_bytes) && !take("VmHWM:", out.peak_bytes))
      status.ignore(1 << 16, '\n');
  }
  return any;  // zombies have a status without Vm* lines
}

std::optional<ProcessFaults> read_proc_faults(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string s; fields >> s && f.size() < 12;) f.push_back(s);
  if (f.size() < 12) return std::nullopt;
  // After "pid (comm) ": state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12)
  return ProcessFaults{std::stoull(f[7]), std::stoull(f[9])};
}

RssSampler::RssSampler(std::vector<pid_t> pids, std::chrono::milliseconds interval,
                       std::size_t reserve)
    : pids_(std::move(pids)), interval_(interval) {
  samples_.reserve(reserve);
  thread_ = std::thread([this] { run(); });
}

double RssSampler::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

RssSampler::~RssSampler() {
  stop();
}

void RssSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RssSampler::run() {
  while (!stop_) {
    RssSample s;
    s.t_s = elapsed_s();
    std::uint64_t peak = 0;
    bool any = false;
    for (pid_t pid : pids_) {
      ProcStatusRss r;
      if (!read_status_rss(pid, r)) continue;
      any = true;
      s.rss_bytes += r.rss_bytes;
      s.anon_bytes += r.anon_bytes;
      s.file_bytes += r.file_bytes;
      peak += r.peak_bytes;
    }
    if (any) {
      std::lock_guard lock(mu_);
      samples_.push_back(s);
      peak_ = std::max({peak_, peak, s.rss_bytes});
    }
    // Sleep in small steps so stop() returns quickly.
    for (auto slept = std::chrono::milliseconds(0); slept < interval_ && !stop_;
         slept += std::chrono::milliseconds(10))
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<RssSample> RssSampler::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

std::uint64_t RssSampler::peak_bytes() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace faultline
