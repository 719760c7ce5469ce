#include "harness/storage_sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace faultline::harness {
namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kMinBs = kMiB, kMaxBs = 16 * kMiB;
constexpr int kMaxDepth = 64;
// fio allocates bs x iodepth x numjobs of buffers: no point needs more.
constexpr std::uint64_t kMaxInFlight = 256 * kMiB;

std::string size_text(std::uint64_t bytes) {
  return bytes % kMiB == 0 ? fmt::format("{}M", bytes / kMiB) : fmt::format("{}k", bytes >> 10);
}

bool fits(const FioPoint& p) {
  return p.bs >= kMinBs && p.bs <= kMaxBs && p.iodepth >= 1 && p.iodepth <= kMaxDepth &&
         p.numjobs >= 1 && p.numjobs <= 2 &&
         p.bs * std::uint64_t(p.iodepth * p.numjobs) <= kMaxInFlight;
}

nlohmann::json point_json(const FioPoint& p) {
  return {{"engine", p.engine},
          {"direct", p.direct},
          {"bs", p.bs},
          {"iodepth", p.iodepth},
          {"numjobs", p.numjobs}};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Measured {
  FioPoint point;
  double gbps;
};

}  // namespace

std::string FioPoint::describe() const {
  return fmt::format("{} {} bs={} iodepth={} numjobs={}", engine, direct ? "O_DIRECT" : "buffered",
                     size_text(bs), iodepth, numjobs);
}

std::vector<std::string> fio_argv(const FioPoint& p, const std::string& file,
                                  std::uint64_t max_bytes, double max_runtime_s) {
  // Each job reads its own part, whole blocks of the largest size.
  std::uint64_t per_job = max_bytes / std::uint64_t(p.numjobs) / kMaxBs * kMaxBs;
  if (per_job == 0)
    per_job = std::max<std::uint64_t>(max_bytes / std::uint64_t(p.numjobs) / p.bs * p.bs, p.bs);
  std::vector<std::string> argv = {
      "fio",
      "--name=faultline-calibration",
      "--filename=" + file,
      "--readonly",
      "--rw=read",
      "--bs=" + size_text(p.bs),
      fmt::format("--direct={}", p.direct ? 1 : 0),
      "--ioengine=" + p.engine,
      fmt::format("--iodepth={}", p.iodepth),
      fmt::format("--numjobs={}", p.numjobs),
      "--group_reporting",
      "--invalidate=1",
      fmt::format("--size={}", per_job),
      fmt::format("--runtime={}", std::max(1, int(std::ceil(max_runtime_s)))),
      "--output-format=json"};
  if (p.numjobs > 1) argv.push_back(fmt::format("--offset_increment={}", per_job));
  return argv;
}

void parse_fio_json(const std::string& text, PointResult& r) {
  const auto brace = text.find('{');
  const auto j =
      nlohmann::json::parse(brace == std::string::npos ? "" : text.substr(brace), nullptr, false);
  try {
    const auto& job = j.at("jobs").at(0);
    if (job.value("error", 0) != 0) {
      r.error = fmt::format("fio job error {}", job["error"].dump());
      return;
    }
    const auto& read = job.at("read");
    const double bytes = read.at("io_bytes").get<double>();
    const double ms = read.at("runtime").get<double>();
    if (!(bytes > 0) || !(ms > 0)) {
      r.error = "fio read nothing";
      return;
    }
    r.bytes = std::uint64_t(bytes);
    r.gbps = bytes / (ms * 1e6);
  } catch (const std::exception& e) {
    r.error = fmt::format("cannot read fio's JSON: {}", e.what());
  }
}

std::vector<std::string> fio_async_engines(const std::string& enghelp) {
  std::vector<std::string> out;
  auto listed = [&](const std::string& name) {
    std::size_t at = 0;
    while ((at = enghelp.find(name, at)) != std::string::npos) {
      const bool start = at == 0 || std::isspace(static_cast<unsigned char>(enghelp[at - 1]));
      const std::size_t end = at + name.size();
      const bool stop =
          end == enghelp.size() || std::isspace(static_cast<unsigned char>(enghelp[end]));
      if (start && stop) return true;
      at = end;
    }
    return false;
  };
  for (const char* e : {"io_uring", "libaio"})
    if (listed(e)) out.push_back(e);
  return out;
}

nlohmann::json storage_sweep(const SweepOptions& o,
                             const std::function<PointResult(const FioPoint&)>& measure,
                             const std::function<bool()>& stop) {
  const auto start = std::chrono::steady_clock::now();
  nlohmann::json storage = {{"engines", o.engines}};
  nlohmann::json points = nlohmann::json::array();
  std::vector<Measured> measured;  // coarse and fine points that worked
  std::vector<FioPoint> tried;
  std::vector<std::string> notes;
  double spent_s = 0;
  auto finish = [&](nlohmann::json& s) -> nlohmann::json& {
    s["points"] = points;
    s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!notes.empty()) s["notes"] = notes;
    return s;
  };
  if (o.engines.empty()) {
    storage["error"] = "this fio has neither io_uring nor libaio";
    return finish(storage);
  }
  auto run = [&](const FioPoint& p, const char* phase) -> std::optional<double> {
    if (stop && stop()) return std::nullopt;
    PointResult r = measure(p);
    spent_s += r.seconds;
    nlohmann::json j = point_json(p);
    j["phase"] = phase;
    j["gbps"] = r.gbps ? nlohmann::json(*r.gbps) : nlohmann::json(nullptr);
    j["seconds"] = r.seconds;
    j["bytes"] = r.bytes;
    if (!r.gbps) j["error"] = r.error.empty() ? "failed" : r.error;
    points.push_back(std::move(j));
    return r.gbps;
  };
  auto explore = [&](const FioPoint& p, const char* phase) {
    if (!fits(p) || std::find(tried.begin(), tried.end(), p) != tried.end()) return;
    if (spent_s > o.budget_s) {
      notes.push_back(fmt::format("{} {} skipped: the sweep's {:.0f} s budget was spent", phase,
                                  p.describe(), o.budget_s));
      return;
    }
    tried.push_back(p);
    if (auto g = run(p, phase)) measured.push_back({p, *g});
  };

  // Coarse. The preferred engine falls back to the next when it cannot run.
  std::string engine = o.engines.front();
  {
    FioPoint first{engine, true, kMinBs, 1, 1};
    tried.push_back(first);
    auto g = run(first, "coarse");
    if (g) measured.push_back({first, *g});
    if (!g && o.engines.size() > 1 && !(stop && stop())) {
      notes.push_back(
          fmt::format("{} failed on its first point; {} used instead", engine, o.engines[1]));
      engine = o.engines[1];
    }
  }
  for (std::uint64_t bs : {kMinBs, 4 * kMiB, kMaxBs})
    for (int depth : {1, 8, kMaxDepth}) {
      FioPoint p{engine, true, bs, depth, 1};
      while (!fits(p) && p.iodepth > 1) p.iodepth /= 2;  // in flight at most kMaxInFlight
      explore(p, "coarse");
    }
  explore({"psync", false, kMinBs, 1, 1}, "coarse");
  if (measured.empty()) {
    storage["error"] = "every fio point failed";
    if (!points.empty())
      storage["error"] =
          "every fio point failed: " + points.back().value("error", std::string("?"));
    return finish(storage);
  }

  // Fine, around the best coarse point.
  const FioPoint best = std::max_element(measured.begin(), measured.end(), [](auto& a, auto& b) {
                          return a.gbps < b.gbps;
                        })->point;
  std::vector<FioPoint> fine;
  auto with = [&](auto change) {
    FioPoint p = best;
    change(p);
    fine.push_back(p);
  };
  if (best.direct) {
    with([](FioPoint& p) { p.bs /= 2; });
    with([](FioPoint& p) { p.bs *= 2; });
    with([](FioPoint& p) { p.iodepth /= 2; });
    with([](FioPoint& p) { p.iodepth *= 2; });
    with([](FioPoint& p) { p.numjobs = 3 - p.numjobs; });
    for (const auto& e : o.engines)
      if (e != best.engine) with([&](FioPoint& p) { p.engine = e; });
  } else {
    with([](FioPoint& p) { p.bs *= 4; });
    with([](FioPoint& p) { p.bs *= 16; });
    with([](FioPoint& p) { p.numjobs = 2; });
  }
  for (const auto& p : fine) explore(p, "fine");

  // Remeasure the best three; the limit is the median of the second runs.
  std::stable_sort(measured.begin(), measured.end(),
                   [](const Measured& a, const Measured& b) { return a.gbps > b.gbps; });
  nlohmann::json best_json = nlohmann::json::array();
  std::vector<double> again;
  for (std::size_t i = 0; i < measured.size() && i < 3; ++i) {
    nlohmann::json b = point_json(measured[i].point);
    auto g = run(measured[i].point, "remeasure");
    b["gbps_runs"] = {measured[i].gbps, g ? nlohmann::json(*g) : nlohmann::json(nullptr)};
    if (g) again.push_back(*g);
    best_json.push_back(std::move(b));
  }
  storage["best"] = best_json;
  if (again.empty()) {
    storage["error"] = "the best points failed when measured again";
    return finish(storage);
  }
  storage["gbps"] = median(again);
  const auto count = [&](const char* phase) {
    return std::count_if(points.begin(), points.end(),
                         [&](const auto& p) { return p["phase"] == phase; });
  };
  storage["method"] = fmt::format(
      "fio on the model's file: {} coarse + {} fine points (O_DIRECT bs 1-16 MiB x iodepth 1-64 x "
      "1-2 jobs, {}; a buffered read after eviction), then the best {} measured again: the limit "
      "is the median of those second runs ({:.2f} GB/s)",
      count("coarse"), count("fine"), fmt::join(o.engines, ", "), again.size(),
      fmt::join(again, ", "));
  return finish(storage);
}

}  // namespace faultline::harness
