#include "harness/results_store.h"

#include "common/path_safe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "harness/runs_schema.h"

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void sys_fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      sys_fail("write " + path);
    }
    off += std::size_t(n);
  }
}

std::string format_time(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

// What a killed run (SIGKILL, power loss) can leave half-written: atomic_write's
// <file>.tmp.<pid>, faultline-bench's raw/<stem>.json.part and its
// raw/.<stem>.timeline folder. None is named by a row; the cells they belong
// to have no row and run again on resume.
void remove_leftovers(const std::string& dir) {
  for (const std::string& d : {dir, dir + "/raw"}) {
    std::error_code ec;
    std::vector<fs::path> doomed;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (name.find(".tmp.") != std::string::npos || name.ends_with(".part") ||
          (name.starts_with(".") && name.ends_with(".timeline")))
        doomed.push_back(e.path());
    }
    for (const auto& p : doomed) fs::remove_all(p, ec);
  }
}

}  // namespace

std::string utc_stamp() {
  return format_time("%Y%m%dT%H%M%SZ");
}
std::string utc_iso8601() {
  return format_time("%Y-%m-%dT%H:%M:%SZ");
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) sys_fail("open folder " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    errno = err;
    sys_fail("fsync folder " + dir);
  }
}

void atomic_write(const std::string& path, const std::string& content) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) sys_fail("create " + tmp);
  try {
    write_all(fd, content, tmp);
    if (::fsync(fd) != 0) sys_fail("fsync " + tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    sys_fail("rename " + tmp + " to " + path);
  }
  fsync_dir(fs::path(path).parent_path().string());
}

void check_writable(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    throw std::invalid_argument(
        fmt::format("results folder {} is not writable: {}", root, ec.message()));
  if (!fs::is_directory(root, ec))
    throw std::invalid_argument(fmt::format("results folder {} is not a folder", root));
  std::string probe = root + "/.faultline-write-test-XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0)
    throw std::invalid_argument(fmt::format("results folder {} is not writable: {}", root,
                                            std::generic_category().message(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
}

ResultsStore ResultsStore::create(const std::string& root, const std::string& host,
                                  const std::string& preset) {
  std::string base =
      fmt::format("{}/{}-{}-{}", root, utc_stamp(), path_safe(host), path_safe(preset));
  std::string dir = base;
  for (int n = 2; ::mkdir(dir.c_str(), 0755) != 0; ++n) {
    if (errno != EEXIST || n > 1000) sys_fail("create run folder " + dir);
    dir = fmt::format("{}-{}", base, n);
  }
  if (::mkdir((dir + "/raw").c_str(), 0755) != 0) sys_fail("create " + dir + "/raw");
  fsync_dir(dir);
  fsync_dir(root);
  return ResultsStore(fs::absolute(dir).lexically_normal().string());
}

ResultsStore ResultsStore::open(const std::string& dir_in) {
  std::string dir = fs::absolute(dir_in).lexically_normal().string();
  if (!dir.empty() && dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!fs::is_directory(dir))
    throw std::invalid_argument(fmt::format("--resume {}: no such run folder", dir_in));
  if (!fs::exists(dir + "/plan.json"))
    throw std::invalid_argument(
        fmt::format("--resume {}: no plan.json there (not a faultline run folder)", dir_in));
  ResultsStore store(dir);
  std::error_code ec;
  fs::create_directories(dir + "/raw", ec);
  remove_leftovers(dir);
  // A torn last line (crash mid-append) is dropped so appends stay line-aligned.
  std::string runs = dir + "/runs.jsonl";
  if (fs::exists(runs)) {
    std::ifstream in(runs, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto end = all.rfind('\n');
    std::size_t keep = end == std::string::npos ? 0 : end + 1;
    if (keep != all.size()) {
      if (::truncate(runs.c_str(), off_t(keep)) != 0) sys_fail("truncate " + runs);
    }
  }
  return store;
}

std::string ResultsStore::run_id() const {
  return fs::path(dir_).filename().string();
}

void ResultsStore::write_json(const std::string& relative, const nlohmann::json& j) const {
  atomic_write(path(relative), j.dump(2) + "\n");
}

nlohmann::json ResultsStore::read_json(const std::string& relative) const {
  std::ifstream in(path(relative));
  if (!in) throw std::invalid_argument(fmt::format("cannot read {}", path(relative)));
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("{}: {}", path(relative), e.what()));
  }
}

void ResultsStore::append_row(const nlohmann::json& row) const {
  auto errors = runs::validate(row);
  if (!errors.empty())
    throw std::logic_error(fmt::format("invalid runs.jsonl row: {}", errors.front()));
  std::string file = path("runs.jsonl");
  bool existed = fs::exists(file);
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) sys_fail("open " + file);
  try {
    write_all(fd, row.dump() + "\n", file);
    if (::fsync(fd) != 0) sys_fail("fsync " + file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (!existed) fsync_dir(dir_);
}

std::vector<nlohmann::json> ResultsStore::rows() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(path("runs.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      // a torn line: not a complete row
    }
  }
  return out;
}

std::set<std::string> ResultsStore::done_keys() const {
  std::set<std::string> keys;
  for (const auto& r : rows())
    if (runs::validate(r).empty()) keys.insert(runs::row_key(r));
  return keys;
}

}  // namespace faultline::harness
