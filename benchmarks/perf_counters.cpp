// PerfCounter: libpfm4 turns an event name into a perf_event_attr, and this
// class owns the perf_event_open descriptors (one, or one per thread). Failure is a state
// (supported() false, error() says why), never an exception.
#include "benchmarks/perf_counters.h"

#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace faultline {
namespace {

// The perf tool's short names → libpfm4's names for the same generic events.
constexpr std::array<std::pair<std::string_view, const char*>, 16> kAliases{{
    {"page-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS"},
    {"faults", "perf::PERF_COUNT_SW_PAGE_FAULTS"},
    {"minor-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN"},
    {"major-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ"},
    {"task-clock", "perf::PERF_COUNT_SW_TASK_CLOCK"},
    {"cpu-clock", "perf::PERF_COUNT_SW_CPU_CLOCK"},
    {"context-switches", "perf::PERF_COUNT_SW_CONTEXT_SWITCHES"},
    {"cs", "perf::PERF_COUNT_SW_CONTEXT_SWITCHES"},
    {"cpu-migrations", "perf::PERF_COUNT_SW_CPU_MIGRATIONS"},
    {"cycles", "perf::PERF_COUNT_HW_CPU_CYCLES"},
    {"cpu-cycles", "perf::PERF_COUNT_HW_CPU_CYCLES"},
    {"instructions", "perf::PERF_COUNT_HW_INSTRUCTIONS"},
    {"cache-references", "perf::PERF_COUNT_HW_CACHE_REFERENCES"},
    {"cache-misses", "perf::PERF_COUNT_HW_CACHE_MISSES"},
    {"branches", "perf::PERF_COUNT_HW_BRANCH_INSTRUCTIONS"},
    {"branch-misses", "perf::PERF_COUNT_HW_BRANCH_MISSES"},
}};

const char* libpfm_name(const std::string& event) {
  for (const auto& [alias, name] : kAliases)
    if (event == alias) return name;
  return event.c_str();
}

// pfm_initialize() once per process; its result is remembered.
int pfm_init() {
  static std::once_flag once;
  static int result = PFM_SUCCESS;
  std::call_once(once, [] { result = pfm_initialize(); });
  return result;
}

int perf_event_paranoid() {
  std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
  int level = 2;
  in >> level;
  return level;
}

bool is_hardware(const perf_event_attr& attr) {
  return attr.type != PERF_TYPE_SOFTWARE && attr.type != PERF_TYPE_TRACEPOINT;
}

int open_event(perf_event_attr& attr, int pid) {
  return static_cast<int>(
      ::syscall(SYS_perf_event_open, &attr, pid, -1 /* any cpu */, -1, PERF_FLAG_FD_CLOEXEC));
}

const char* errno_name(int err) {
  const char* name = ::strerrorname_np(err);
  return name ? name : "unknown errno";
}

std::string explain(const std::string& event, const perf_event_attr& attr, int err) {
  switch (err) {
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
      if (is_hardware(attr))
        return fmt::format("{}: not supported on this machine (no hardware PMU; {})", event,
                           errno_name(err));
      return fmt::format("{}: not supported by this kernel ({})", event, errno_name(err));
    case EACCES:
    case EPERM:
      return fmt::format(
          "{}: permission denied (kernel.perf_event_paranoid={}; run as root or lower it; {})",
          event, perf_event_paranoid(), errno_name(err));
    default:
      return fmt::format("{}: perf_event_open failed: {} ({})", event, std::strerror(err),
                         errno_name(err));
  }
}

}  // namespace

PerfCounter::PerfCounter(std::string event, int pid, bool inherit) : event_(std::move(event)) {
  open(pid, inherit);
}

PerfCounter PerfCounter::every_thread(std::string event) {
  PerfCounter c;
  c.event_ = std::move(event);
  // This thread first: its failure is the counter's (no other thread can
  // succeed where it fails). Then every other thread the process has now.
  if (!c.open(0, true)) return c;
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    int tid = 0;
    const std::string name = entry.path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc{}) continue;
    if (tid == self) continue;
    if (!c.open(tid, true)) {
      if (errno == ESRCH) {  // it exited meanwhile: nothing left to count
        c.error_.clear();
        continue;
      }
      c.close_all();  // a partial sum would pass for the whole process
      return c;
    }
  }
  if (ec) {
    c.error_ = fmt::format("{}: cannot list /proc/self/task ({})", c.event_, ec.message());
    c.close_all();
  }
  return c;
}

bool PerfCounter::open(int pid, bool inherit) {
  if (const int rc = pfm_init(); rc != PFM_SUCCESS) {
    error_ = fmt::format("{}: libpfm4 initialization failed ({})", event_, pfm_strerror(rc));
    return false;
  }
  perf_event_attr attr{};
  pfm_perf_encode_arg_t arg{};
  arg.attr = &attr;
  arg.size = sizeof(arg);
  const int rc = pfm_get_os_event_encoding(libpfm_name(event_), PFM_PLM0 | PFM_PLM3,
                                           PFM_OS_PERF_EVENT_EXT, &arg);
  if (rc != PFM_SUCCESS) {
    error_ = fmt::format("{}: libpfm4 cannot encode this event ({})", event_, pfm_strerror(rc));
    return false;
  }
  attr.size = sizeof(attr);
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  attr.disabled = 1;
  attr.inherit = inherit ? 1 : 0;
  if (user_only_) {
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
  }
  int fd = open_event(attr, pid);
  if (fd < 0 && (errno == EACCES || errno == EPERM) && !attr.exclude_kernel && fds_.empty()) {
    // perf_event_paranoid >= 2 refuses kernel-mode counting to the unprivileged,
    // for every event type: count user mode only (faults taken in user mode
    // still count; hardware events lose their kernel part).
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fd = open_event(attr, pid);
    if (fd >= 0) user_only_ = true;
  }
  if (fd < 0) {
    const int err = errno;
    error_ = explain(event_, attr, err);
    errno = err;
    return false;
  }
  fds_.push_back(fd);
  baseline_.push_back({});
  inherit_ = inherit_ || inherit;
  return true;
}

void PerfCounter::close_all() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
  baseline_.clear();
}

PerfCounter::~PerfCounter() {
  close_all();
}

PerfCounter::PerfCounter(PerfCounter&& other) noexcept
    : event_(std::move(other.event_)),
      fds_(std::exchange(other.fds_, {})),
      baseline_(std::exchange(other.baseline_, {})),
      error_(std::move(other.error_)),
      user_only_(other.user_only_),
      inherit_(other.inherit_) {}

PerfCounter& PerfCounter::operator=(PerfCounter&& other) noexcept {
  if (this != &other) {
    close_all();
    event_ = std::move(other.event_);
    fds_ = std::exchange(other.fds_, {});
    baseline_ = std::exchange(other.baseline_, {});
    error_ = std::move(other.error_);
    user_only_ = other.user_only_;
    inherit_ = other.inherit_;
  }
  return *this;
}

std::optional<PerfCounter::Raw> PerfCounter::read_raw(int fd) const {
  Raw r;
  std::uint64_t data[3] = {};
  if (::read(fd, data, sizeof(data)) != static_cast<ssize_t>(sizeof(data))) return std::nullopt;
  r.value = data[0];
  r.time_enabled = data[1];
  r.time_running = data[2];
  return r;
}

void PerfCounter::reset() {
  for (std::size_t i = 0; i < fds_.size(); ++i)
    if (auto r = read_raw(fds_[i])) baseline_[i] = *r;
}

void PerfCounter::enable() {
  for (int fd : fds_) ::ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
}

void PerfCounter::disable() {
  for (int fd : fds_) ::ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
}

std::optional<std::uint64_t> PerfCounter::read() const {
  if (fds_.empty()) return std::nullopt;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    const auto now = read_raw(fds_[i]);
    if (!now) return std::nullopt;
    const Raw& base = baseline_[i];
    const std::uint64_t value = now->value - base.value;
    const std::uint64_t enabled = now->time_enabled - base.time_enabled;
    const std::uint64_t running = now->time_running - base.time_running;
    if (running == 0 || running >= enabled) {
      total += value;
      continue;
    }
    // Multiplexed: the counter ran only part of the time; scale to the whole.
    total += static_cast<std::uint64_t>(static_cast<unsigned __int128>(value) * enabled / running);
  }
  return total;
}

PerfCounterSet::PerfCounterSet(const std::vector<std::string>& events, int pid, bool inherit) {
  counters_.reserve(events.size());
  for (const auto& event : events) counters_.emplace_back(event, pid, inherit);
}

PerfCounterSet PerfCounterSet::every_thread(const std::vector<std::string>& events) {
  PerfCounterSet set;
  set.counters_.reserve(events.size());
  for (const auto& event : events) set.counters_.push_back(PerfCounter::every_thread(event));
  return set;
}

void PerfCounterSet::start() {
  for (auto& c : counters_) c.reset();
  for (auto& c : counters_) c.enable();
}

void PerfCounterSet::stop() {
  for (auto& c : counters_) c.disable();
}

std::vector<std::pair<std::string, std::optional<std::uint64_t>>> PerfCounterSet::read() const {
  std::vector<std::pair<std::string, std::optional<std::uint64_t>>> out;
  out.reserve(counters_.size());
  for (const auto& c : counters_) out.emplace_back(c.event(), c.read());
  return out;
}

}  // namespace faultline
