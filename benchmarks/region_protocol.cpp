#include "benchmarks/region_protocol.h"

#include <unistd.h>

#include <cerrno>
#include <memory>

#include <nlohmann/json.hpp>

namespace faultline {

bool region_protocol::write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += std::size_t(n);
  }
  return true;
}

std::optional<std::string> region_protocol::read_line(int fd) {
  std::string line;
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
}

namespace {

struct Client {
  int request_fd;
  int reply_fd;
  bool alive = true;

  std::optional<std::string> ask(const std::string& request) {
    if (!alive) return std::nullopt;
    auto reply = region_protocol::write_all(request_fd, request + '\n')
                     ? region_protocol::read_line(reply_fd)
                     : std::nullopt;
    if (!reply) alive = false;
    return reply;
  }
};

}  // namespace

RegionProbe remote_region_probe(int request_fd, int reply_fd) {
  auto client = std::make_shared<Client>(Client{request_fd, reply_fd});
  RegionProbe probe;
  probe.prepare = [client](const LoadCell& cell) { client->ask("prepare " + cell_name(cell)); };
  probe.begin = [client](const LoadCell& cell) { client->ask("begin " + cell_name(cell)); };
  probe.end = [client](const LoadCell& cell) {
    std::vector<std::pair<std::string, double>> metrics;
    auto reply = client->ask("end " + cell_name(cell));
    if (!reply) return metrics;
    auto j = nlohmann::json::parse(*reply, nullptr, false);
    if (!j.is_object()) return metrics;
    for (const auto& [name, value] : j.items())
      if (value.is_number()) metrics.emplace_back(name, value.get<double>());
    return metrics;
  };
  return probe;
}

}  // namespace faultline
