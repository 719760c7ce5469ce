#include "bpf/region_tracer.h"

#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bpf/trace_summary.h"
#include "bpf/tracer.h"
#include "common/path_safe.h"
#include "common/rss_sampler.h"

namespace faultline::bpf {
namespace {

std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

TraceFilter filter_for(const std::string& model, bool timeline, pid_t pid) {
  TraceFilter f;
  f.pids = {static_cast<int>(pid)};
  f.files = {model};
  f.timeline = timeline;
  f.track_unused = RegionTracer::kTrackUnused;
  f.timeline_max_events = RegionTracer::kMaxTimelineEvents;
  return f;
}

}  // namespace

struct RegionTracer::Impl {
  Impl(const std::string& model, std::string dir, pid_t pid)
      : model(model),
        timeline_dir(std::move(dir)),
        pid(pid),
        tracer(filter_for(model, !timeline_dir.empty(), pid)) {
    if (tracer.ok() && !tracer.start()) started = false;
  }
  std::string model;
  std::string timeline_dir;
  pid_t pid;
  Tracer tracer;
  bool started = true;
  TraceCounters before;
  std::uint64_t t0_ns = 0;
  std::unique_ptr<RssSampler> rss;
  std::atomic<bool> polling{false};
  std::thread poller;

  bool prepared = false;
  bool active = false;
  double rss_begin_s = 0;  // the RSS sampler's clock at begin()
  Availability last;       // the last region's availability

  void prepare() {
    if (active || prepared) return;
    prepared = true;
    if (timeline_dir.empty()) return;
    tracer.reset_timeline();  // drop what came before; touch the bounded buffer now
    rss = std::make_unique<RssSampler>(std::vector<pid_t>{pid}, std::chrono::milliseconds(5));
    polling = true;
    // Drain the ring buffer while the region runs so long loads do not drop.
    poller = std::thread([this] {
      while (polling) tracer.poll_timeline(20);
    });
  }

  void begin() {
    if (active) return;  // one region at a time
    prepare();
    active = true;
    if (!timeline_dir.empty()) rss_begin_s = rss->elapsed_s();
    tracer.restart_unused();  // "never used" of this region's own pages
    before = tracer.snapshot();
    t0_ns = monotonic_ns();
  }

  std::vector<std::pair<std::string, double>> end(const std::string& cell) {
    if (!active) return {};
    active = prepared = false;
    TraceCounters delta = tracer.snapshot() - before;
    const double seconds = double(monotonic_ns() - t0_ns) / 1e9;
    if (!timeline_dir.empty()) {
      polling = false;
      poller.join();
      while (tracer.poll_timeline(0) > 0) {
      }
      rss->stop();
      write_timeline(cell, delta, seconds);
      rss.reset();
    }
    RegionMetrics r = region_metrics(delta, delta.availability);
    last = std::move(r.availability);
    return std::move(r.metrics);
  }

  void write_timeline(const std::string& cell, const TraceCounters& delta, double seconds) {
    TraceReport r;
    r.command = {"faultline-bench", cell};
    r.pids = {static_cast<int>(pid)};
    r.files = {model};
    r.filter = fmt::format("pids {}", pid);
    r.seconds = seconds;
    r.probes = tracer.probes();
    r.availability = delta.availability;
    r.counters = delta;
    for (RssSample sample : rss->samples())  // the region's samples, on its clock
      if (sample.t_s >= rss_begin_s) {
        sample.t_s -= rss_begin_s;
        r.rss.push_back(sample);
      }
    r.peak_rss_bytes = rss->peak_bytes();
    r.timeline_enabled = true;
    r.t0_ns = t0_ns;
    for (const auto& e : tracer.take_timeline())  // the poller ran since prepare()
      if (e.ts_ns >= t0_ns) r.timeline.push_back(e);
    nlohmann::json j = report_json(r);
    j["cell"] = cell;
    j["timeline_events"] = tracer.timeline_seen();
    j["timeline_stride"] = tracer.timeline_stride();
    const auto path = std::filesystem::path(timeline_dir) / timeline_file_name(cell);
    const auto tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp);
      out << j.dump() << '\n';
      if (!out) {
        std::filesystem::remove(tmp);
        throw std::runtime_error("cannot write " + tmp);
      }
    }
    std::filesystem::rename(tmp, path);
  }
};

RegionTracer::RegionTracer(const std::string& model, std::string timeline_dir, pid_t pid)
    : impl_(std::make_unique<Impl>(model, std::move(timeline_dir), pid > 0 ? pid : ::getpid())) {
  probe_.prepare = [this](const LoadCell&) { prepare(); };
  probe_.begin = [this](const LoadCell&) { begin(); };
  probe_.end = [this](const LoadCell& cell) { return end(cell_name(cell)); };
  probe_.availability = [this] { return availability(); };
}

void RegionTracer::prepare() {
  if (ok()) impl_->prepare();
}

void RegionTracer::begin() {
  if (ok()) impl_->begin();
}

std::vector<std::pair<std::string, double>> RegionTracer::end(const std::string& cell) {
  if (!ok()) return {};
  return impl_->end(cell);
}

RegionTracer::~RegionTracer() {
  if (impl_ && impl_->poller.joinable()) {
    impl_->polling = false;
    impl_->poller.join();
  }
}

bool RegionTracer::ok() const {
  return impl_->tracer.ok() && impl_->started;
}

Availability RegionTracer::availability() const {
  Availability a = impl_->tracer.availability();
  a.merge(impl_->last);
  return a;
}

const std::string& RegionTracer::error() const {
  return impl_->tracer.error();
}

std::string timeline_file_name(const std::string& cell) {
  return path_safe(cell) + ".timeline.json";
}

}  // namespace faultline::bpf
