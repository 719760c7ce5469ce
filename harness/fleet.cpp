#include "harness/fleet.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benchmarks/cache.h"
#include "schema/metrics.h"

namespace faultline::harness {
namespace {

struct Loader {
  pid_t pid = -1;
  int to_child = -1;    // its stdin
  int from_child = -1;  // its stdout
  std::string buffer;   // what it wrote and we have not consumed
};

// Reads one line from every loader, waiting at most timeout_s overall.
// Returns an error text, or nullopt when every loader produced a line.
std::optional<std::string> read_lines(std::vector<Loader>& loaders, std::vector<std::string>& lines,
                                      double timeout_s) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  lines.assign(loaders.size(), "");
  std::vector<bool> done(loaders.size(), false);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> who;
    for (std::size_t i = 0; i < loaders.size(); ++i) {
      auto nl = loaders[i].buffer.find('\n');
      if (!done[i] && nl != std::string::npos) {
        lines[i] = loaders[i].buffer.substr(0, nl);
        loaders[i].buffer.erase(0, nl + 1);
        done[i] = true;
      }
      if (!done[i]) {
        fds.push_back({loaders[i].from_child, POLLIN, 0});
        who.push_back(i);
      }
    }
    if (fds.empty()) return std::nullopt;
    if (interrupted()) return "interrupted";
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return fmt::format("timed out after {:.0f} s", timeout_s);
    int n = ::poll(fds.data(), fds.size(), int(std::min<long long>(left.count(), 200)));
    if (n < 0 && errno != EINTR) return fmt::format("poll: {}", std::strerror(errno));
    for (std::size_t k = 0; n > 0 && k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(fds[k].fd, buf, sizeof buf);
      if (got > 0)
        loaders[who[k]].buffer.append(buf, std::size_t(got));
      else if (got == 0)
        return fmt::format("loader {} exited early", loaders[who[k]].pid);
    }
  }
}

}  // namespace

FleetResult run_fleet(const std::string& hold_exe, const Plan& plan, const Cell& cell,
                      const std::vector<std::string>& cgroup_procs, const std::string& log_path,
                      const Credentials* as_user) {
  FleetResult r;
  // Cache state, outside any timing: the loaders measure their own load.
  if (cell.cache == "cold") {
    auto res = evict(plan.model, plan.drop_caches);
    if (res.pct() > 1.0)
      r.warnings.push_back(fmt::format("cold: {:.1f}% still resident after eviction", res.pct()));
  } else {
    warm(plan.model);
  }
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<Loader> loaders(std::size_t(plan.processes));
  auto cleanup = [&] {
    for (auto& l : loaders) {
      if (l.to_child >= 0) ::close(l.to_child);
      l.to_child = -1;
    }
  };
  try {
    for (auto& l : loaders) {
      int in[2], out[2];
      if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
      l.pid = spawn({{hold_exe, "--model", plan.model, "--strategy", cell.strategy, "--pattern",
                      cell.pattern, "--seed", std::to_string(plan.seed)},
                     cgroup_procs,
                     in[0],
                     out[1],
                     log,
                     {},
                     as_user});
      ::close(in[0]);
      ::close(out[1]);
      l.to_child = in[1];
      l.from_child = out[0];
    }
    std::vector<std::string> lines;
    // 1. every loader has loaded and holds its mapping
    if (auto err = read_lines(loaders, lines, plan.cell_timeout_s)) {
      r.error = *err;
    } else {
      for (std::size_t i = 0; i < lines.size() && !r.error; ++i)
        if (lines[i] != "ready") {
          auto j = nlohmann::json::parse(lines[i], nullptr, false);
          r.error = j.is_object() && j.contains("error") ? j["error"].get<std::string>()
                                                         : fmt::format("loader said: {}", lines[i]);
        }
    }
    // 2. all sample RSS/PSS at once, 3. all exit
    if (!r.error) {
      for (auto& l : loaders) (void)!::write(l.to_child, "sample\n", 7);
      if (auto err = read_lines(loaders, lines, 120)) r.error = *err;
    }
    cleanup();
    if (!r.error) {
      double sum_rss = 0, sum_pss = 0, max_ready = 0;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        auto j = nlohmann::json::parse(lines[i], nullptr, false);
        if (!j.is_object()) {
          r.error = fmt::format("loader {} wrote: {}", loaders[i].pid, lines[i]);
          break;
        }
        std::map<std::string, double> m;
        for (const auto& [k, v] : j.items())
          if (v.is_number()) m[k] = v.get<double>();
        m["pid"] = loaders[i].pid;
        sum_rss += m[std::string(metric::kRssBytes)];
        sum_pss += m[std::string(metric::kPssBytes)];
        max_ready = std::max(max_ready, m[std::string(metric::kReadyMs)]);
        r.processes.push_back(std::move(m));
      }
      r.sums[std::string(metric::kFleetRssBytes)] = sum_rss;
      r.sums[std::string(metric::kFleetPssBytes)] = sum_pss;
      r.sums[std::string(metric::kFleetReadyMs)] = max_ready;
    }
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  cleanup();
  for (auto& l : loaders) {
    if (l.pid <= 0) continue;
    if (r.error) ::kill(l.pid, SIGKILL);
    ExitInfo e = wait_child(l.pid, 60);
    if (l.from_child >= 0) ::close(l.from_child);
    if (e.term_signal && !r.exit.term_signal) r.exit = e;
    if (!r.exit.term_signal && !r.exit.exit_code) r.exit = e;
    if (e.exit_code && *e.exit_code != 0 && !r.exit.term_signal) r.exit = e;
    r.exit.interrupted = r.exit.interrupted || e.interrupted;
  }
  if (log >= 0) ::close(log);
  if (!r.exit.term_signal && r.exit.exit_code && *r.exit.exit_code != 0 && !r.error)
    r.error = fmt::format("a loader exited with {}", *r.exit.exit_code);
  return r;
}

}  // namespace faultline::harness
