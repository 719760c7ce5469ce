#include "bpf/region_server.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace faultline::bpf {

using region_protocol::write_all;

RegionServer::RegionServer(const std::string& model, std::string timeline_dir, pid_t pid,
                           int request_fd, int reply_fd)
    : tracer_(model, std::move(timeline_dir), pid), request_fd_(request_fd), reply_fd_(reply_fd) {
  ::fcntl(reply_fd_, F_SETFL, ::fcntl(reply_fd_, F_GETFL) | O_NONBLOCK);
}

RegionServer::~RegionServer() = default;

bool RegionServer::serve(int timeout_ms) {
  if (!violation_.empty()) {
    ::usleep(timeout_ms * 1000);
    return false;
  }
  pollfd p{request_fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return true;
  char buf[512];
  const ssize_t n = ::read(request_fd_, buf, sizeof buf);
  if (n <= 0) {
    // The bench closed its end (it exited): nothing more will come; do not
    // spin on a readable EOF.
    if (n == 0 || errno != EINTR) ::usleep(timeout_ms * 1000);
    return true;
  }
  pending_.append(buf, std::size_t(n));
  for (auto nl = pending_.find('\n'); nl != std::string::npos && violation_.empty();
       nl = pending_.find('\n')) {
    std::string line = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    answer(line);
  }
  if (violation_.empty() && pending_.size() > kMaxLine)
    violation_ = fmt::format("a request line longer than {} bytes", kMaxLine);
  return violation_.empty();
}

void RegionServer::answer(const std::string& line) {
  try {
    if (line.size() > kMaxLine) {
      violation_ = fmt::format("a request line longer than {} bytes", kMaxLine);
    } else if (line.starts_with("prepare ") && state_ == State::kIdle) {
      tracer_.prepare();
      state_ = State::kPrepared;
      reply("ok\n");
    } else if (line.starts_with("begin ") && state_ == State::kPrepared) {
      tracer_.begin();
      state_ = State::kInRegion;
      reply("ok\n");
    } else if (line.starts_with("end ") && state_ == State::kInRegion) {
      state_ = State::kIdle;
      last_.clear();
      for (const auto& [name, value] : tracer_.end(line.substr(4))) last_[name] = value;
      reply(nlohmann::json(last_).dump() + '\n');
    } else {
      violation_ = fmt::format("unexpected request '{}'{}", line.substr(0, 64),
                               state_ == State::kInRegion   ? " inside a region"
                               : state_ == State::kPrepared ? " after prepare"
                                                            : " outside a region");
    }
  } catch (const std::exception& e) {
    violation_ = fmt::format("request '{}' failed: {}", line.substr(0, 64), e.what());
  }
}

void RegionServer::reply(const std::string& text) {
  if (!write_all(reply_fd_, text)) violation_ = "it does not read the replies";
}

}  // namespace faultline::bpf
