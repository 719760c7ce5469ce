// PerfCounter: libpfm4 turns an event name into a perf_event_attr, and this
// class owns the perf_event_open descriptor. Failure is a state (supported()
// false, error() says why), never an exception.
#include "benchmarks/perf_counters.h"

#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
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
  if (const int rc = pfm_init(); rc != PFM_SUCCESS) {
    error_ = fmt::format("{}: libpfm4 initialization failed ({})", event_, pfm_strerror(rc));
    return;
  }
  perf_event_attr attr{};
  pfm_perf_encode_arg_t arg{};
  arg.attr = &attr;
  arg.size = sizeof(arg);
  const int rc = pfm_get_os_event_encoding(libpfm_name(event_), PFM_PLM0 | PFM_PLM3,
                                           PFM_OS_PERF_EVENT_EXT, &arg);
  if (rc != PFM_SUCCESS) {
    error_ = fmt::format("{}: libpfm4 cannot encode this event ({})", event_, pfm_strerror(rc));
    return;
  }
  attr.size = sizeof(attr);
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  attr.disabled = 1;
  attr.inherit = inherit ? 1 : 0;
  fd_ = open_event(attr, pid);
  if (fd_ < 0 && (errno == EACCES || errno == EPERM) && !attr.exclude_kernel) {
    // perf_event_paranoid >= 2 refuses kernel-mode counting to the unprivileged,
    // for every event type: count user mode only (faults taken in user mode
    // still count; hardware events lose their kernel part).
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fd_ = open_event(attr, pid);
    if (fd_ >= 0) user_only_ = true;
  }
  if (fd_ < 0) error_ = explain(event_, attr, errno);
}

PerfCounter::~PerfCounter() {
  if (fd_ >= 0) ::close(fd_);
}

PerfCounter::PerfCounter(PerfCounter&& other) noexcept
    : event_(std::move(other.event_)),
      fd_(std::exchange(other.fd_, -1)),
      error_(std::move(other.error_)),
      user_only_(other.user_only_) {}

PerfCounter& PerfCounter::operator=(PerfCounter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    event_ = std::move(other.event_);
    fd_ = std::exchange(other.fd_, -1);
    error_ = std::move(other.error_);
    user_only_ = other.user_only_;
  }
  return *this;
}

void PerfCounter::reset() {
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_RESET, 0);
}

void PerfCounter::enable() {
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0);
}

void PerfCounter::disable() {
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0);
}

std::optional<std::uint64_t> PerfCounter::read() const {
  if (fd_ < 0) return std::nullopt;
  struct {
    std::uint64_t value, time_enabled, time_running;
  } data{};
  if (::read(fd_, &data, sizeof(data)) != static_cast<ssize_t>(sizeof(data))) return std::nullopt;
  if (data.time_running == 0 || data.time_running >= data.time_enabled) return data.value;
  // Multiplexed: the counter ran only part of the time; scale to the whole.
  const auto scaled =
      static_cast<unsigned __int128>(data.value) * data.time_enabled / data.time_running;
  return static_cast<std::uint64_t>(scaled);
}

PerfCounterSet::PerfCounterSet(const std::vector<std::string>& events, int pid, bool inherit) {
  counters_.reserve(events.size());
  for (const auto& event : events) counters_.emplace_back(event, pid, inherit);
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
