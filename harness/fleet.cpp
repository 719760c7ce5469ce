#include "harness/fleet.h"

#include "common/interrupt.h"

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
#include "common/unique_fd.h"
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

// Each loader's next line as a JSON object with `key` (every loader
// answers in the same step); an error text naming the loader otherwise.
std::optional<std::string> step(std::vector<Loader>& loaders, const char* key, double timeout_s,
                                std::vector<nlohmann::json>& answers) {
  std::vector<std::string> lines;
  if (auto err = read_lines(loaders, lines, timeout_s)) return *err;
  answers.clear();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i], nullptr, false);
    if (!j.is_object()) return fmt::format("loader {} wrote: {}", loaders[i].pid, lines[i]);
    if (j.contains("error"))
      return fmt::format("loader {}: {}", loaders[i].pid,
                         j["error"].is_string() ? j["error"].get<std::string>() : j.dump());
    if (!j.contains(key))
      return fmt::format("loader {} wrote {} where it should say {}", loaders[i].pid, lines[i],
                         key);
    answers.push_back(std::move(j));
  }
  return std::nullopt;
}

void tell_all(std::vector<Loader>& loaders, const char* line) {
  for (auto& l : loaders) (void)!::write(l.to_child, line, std::strlen(line));
}

// The harness's half of the cache state; the loaders verify it.
std::optional<std::string> prepare_cache_state(const Plan& plan, const Cell& cell) {
  try {
    if (cell.cache == "cold") {
      auto res = evict(plan.model, plan.drop_caches);
      if (res.pct() > 1.0 && !plan.drop_caches && can_drop_caches()) evict(plan.model, true);
    } else {
      warm(plan.model);
    }
  } catch (const std::exception& e) {
    return fmt::format("{}: {}", cell.cache, e.what());
  }
  return std::nullopt;
}

}  // namespace

FleetResult run_fleet(const std::string& hold_exe, const Plan& plan, const Cell& cell,
                      const std::vector<std::string>& cgroup_procs, const std::string& log_path,
                      const Credentials* as_user, const FleetHooks& hooks) {
  FleetResult r;
  const auto started = std::chrono::steady_clock::now();
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<Loader> loaders(std::size_t(plan.processes));
  auto cleanup = [&] {
    for (auto& l : loaders) {
      if (l.to_child >= 0) ::close(l.to_child);
      l.to_child = -1;
    }
  };
  bool timed_out = false;
  auto fail = [&](std::string why) {
    timed_out = why.rfind("timed out", 0) == 0;
    r.error = std::move(why);
  };
  // The barrier: every loader blocks reading it; closing the write end (here
  // only: close-on-exec keeps it out of every child) releases them at once.
  UniqueFd barrier_read, barrier_write;
  try {
    int barrier[2];
    if (::pipe2(barrier, O_CLOEXEC) != 0)
      throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    barrier_read.reset(barrier[0]);
    barrier_write.reset(barrier[1]);
    for (auto& l : loaders) {
      int in[2], out[2];
      if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
      SpawnOptions o{
          {hold_exe, "--model", plan.model, "--strategy", cell.strategy, "--pattern", cell.pattern,
           "--seed", std::to_string(plan.seed), "--cache", cell.cache, "--barrier-fd", "3"},
          cgroup_procs,
          in[0],
          out[1],
          log};
      o.fds = {{barrier_read.get(), 3}};
      o.as_user = as_user;
      l.to_child = in[1];
      l.from_child = out[0];
      l.pid = spawn(o);
      ::close(in[0]);
      ::close(out[1]);
    }
    barrier_read.reset();
    std::vector<nlohmann::json> answers;
    // 1. every loader has parsed the header (its pages are cached now) ...
    if (auto err = step(loaders, "parsed", plan.cell_timeout_s, answers)) fail(*err);
    // 2. ... so the cache state is prepared after it, and verified by each loader
    if (!r.error)
      if (auto err = prepare_cache_state(plan, cell)) fail(*err);
    if (!r.error) {
      tell_all(loaders, "check\n");
      if (auto err = step(loaders, "verified", plan.cell_timeout_s, answers)) fail(*err);
    }
    // 3. one release, then every loader loads; the region ends with the last one ready
    if (!r.error) {
      if (hooks.at_release) hooks.at_release();
      barrier_write.reset();
      if (auto err = step(loaders, "ready", plan.cell_timeout_s, answers)) fail(*err);
      if (!r.error && hooks.at_all_ready) hooks.at_all_ready();
    }
    // 4. all sample RSS/PSS at once, 5. all exit
    if (!r.error) {
      tell_all(loaders, "sample\n");
      if (auto err = step(loaders, std::string(metric::kReadyMs).c_str(), 120, answers)) fail(*err);
    }
    cleanup();
    if (!r.error) {
      double sum_rss = 0, sum_pss = 0, max_ready = 0;
      for (std::size_t i = 0; i < answers.size(); ++i) {
        std::map<std::string, double> m;
        for (const auto& [k, v] : answers[i].items())
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
    fail(e.what());
  }
  cleanup();
  barrier_write.reset();
  bool loader_interrupted = false;
  for (auto& l : loaders) {
    if (l.pid <= 0) continue;
    // After an error, a loader still running is killed now; its SIGKILL is
    // ours, not an outcome (an OOM kill or a crash before it shows as such).
    ExitInfo e = wait_child(l.pid, r.error ? 0 : 60);
    if (l.from_child >= 0) ::close(l.from_child);
    loader_interrupted = loader_interrupted || e.interrupted;
    if (r.error && e.timed_out) continue;
    if (e.term_signal && !r.exit.term_signal) r.exit = e;
    if (!r.exit.term_signal && !r.exit.exit_code) r.exit = e;
    if (e.exit_code && *e.exit_code != 0 && !r.exit.term_signal) r.exit = e;
  }
  if (log >= 0) ::close(log);
  r.exit.timed_out = timed_out;
  r.exit.interrupted = loader_interrupted || interrupted();
  r.exit.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!r.exit.term_signal && r.exit.exit_code && *r.exit.exit_code != 0 && !r.error)
    r.error = fmt::format("a loader exited with {}", *r.exit.exit_code);
  return r;
}

}  // namespace faultline::harness
