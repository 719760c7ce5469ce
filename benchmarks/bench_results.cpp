#include "benchmarks/bench_results.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace faultline {

void BenchResults::write(const std::string& path, const std::string& model,
                         std::uint64_t model_bytes) const {
  nlohmann::json cells = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& c : cells_) {
      nlohmann::json metrics = nlohmann::json::object();
      for (const auto& [k, v] : c.metrics) metrics[k] = v;
      nlohmann::json not_measured = nlohmann::json::object();
      for (const auto& [k, v] : c.availability.not_measured) not_measured[k] = v;
      nlohmann::json cell = {{"cell", c.cell},
                             {"iterations", c.iterations},
                             {"error", c.error ? nlohmann::json(*c.error) : nlohmann::json()},
                             {"metrics", metrics},
                             {"not_measured", not_measured},
                             {"probes", c.availability.probes},
                             {"warnings", c.warnings}};
      if (c.touch_latency_ns)
        cell["touch_latency_ns"] = {{"scale", "log2"},
                                    {"slots", c.touch_latency_ns->used_slots()},
                                    {"count", c.touch_latency_ns->count()}};
      cells.push_back(std::move(cell));
    }
  }
  const nlohmann::json j = {{"tool", "faultline-bench"},  {"version", kVersion}, {"model", model},
                            {"model_bytes", model_bytes}, {"uid", ::geteuid()},  {"cells", cells}};
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const std::string text = j.dump(1) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("cannot write {}: {}", tmp, std::strerror(err)));
    }
    done += std::size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, ec.message()));
  }
}

}  // namespace faultline
