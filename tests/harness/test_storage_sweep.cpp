// The storage-limit search (harness/storage_sweep.h) driven by a model of a
// disk, fio's command line and JSON, and the host-cache verdict
// (harness/host_cache.h) on made-up /sys and /proc trees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "harness/host_cache.h"
#include "harness/storage_sweep.h"

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1u << 20;

// A disk whose rate grows with the bytes in flight up to 32 MiB, io_uring a
// little faster than libaio, buffered reads at 1.2 GB/s; each point measured
// again gives 90 % of its first rate (the first was lucky).
struct ModelDisk {
  std::map<std::string, int> runs;  // describe() -> times measured
  std::vector<FioPoint> order;
  std::string failing_engine;
  double seconds_per_point = 1;
  PointResult operator()(const FioPoint& p) {
    order.push_back(p);
    PointResult r;
    r.seconds = seconds_per_point;
    if (p.engine == failing_engine) {
      r.error = "fio failed";
      return r;
    }
    double in_flight = double(p.bs) * p.iodepth * p.numjobs;
    double g = p.direct ? 0.5 + 1.0 * std::min(in_flight, 32.0 * kMiB) / (32.0 * kMiB) : 1.2;
    if (p.engine == "io_uring") g += 0.05;
    if (runs[p.describe()]++ > 0) g *= 0.9;
    r.gbps = g;
    r.bytes = 1u << 30;
    return r;
  }
};

std::vector<nlohmann::json> in_phase(const nlohmann::json& storage, const std::string& phase) {
  std::vector<nlohmann::json> out;
  for (const auto& p : storage["points"])
    if (p["phase"] == phase) out.push_back(p);
  return out;
}

TEST(StorageSweep, CoarseThenFineThenTheBestThreeAgain) {
  ModelDisk disk;
  auto s = storage_sweep({{"io_uring", "libaio"}, 50}, std::ref(disk));
  ASSERT_TRUE(s.contains("gbps")) << s.dump(1);
  const auto coarse = in_phase(s, "coarse"), fine = in_phase(s, "fine"),
             again = in_phase(s, "remeasure");
  EXPECT_EQ(coarse.size(), 10u);  // 3 block sizes x 3 depths + the buffered read
  EXPECT_GE(fine.size(), 4u);
  EXPECT_EQ(again.size(), 3u);
  EXPECT_GE(s["points"].size(), 15u);
  EXPECT_LE(s["points"].size(), 20u);
  EXPECT_EQ(std::count_if(coarse.begin(), coarse.end(), [](auto& p) { return !p["direct"]; }), 1);
  for (const auto& p : s["points"]) {
    for (const char* key :
         {"engine", "direct", "bs", "iodepth", "numjobs", "phase", "gbps", "seconds"})
      EXPECT_TRUE(p.contains(key)) << key << " in " << p.dump();
    // never more than 256 MiB of buffers in flight
    EXPECT_LE(p["bs"].get<std::uint64_t>() * p["iodepth"].get<int>() * p["numjobs"].get<int>(),
              256 * kMiB);
    EXPECT_LE(p["bs"].get<std::uint64_t>(), 16 * kMiB);
    EXPECT_LE(p["iodepth"].get<int>(), 64);
  }
  // The best three, each with its first and second rate; the limit is the
  // median of the second runs, not the best single run.
  ASSERT_EQ(s["best"].size(), 3u);
  std::vector<double> seconds;
  double best_first = 0;
  for (const auto& b : s["best"]) {
    ASSERT_EQ(b["gbps_runs"].size(), 2u);
    best_first = std::max(best_first, b["gbps_runs"][0].get<double>());
    seconds.push_back(b["gbps_runs"][1].get<double>());
    EXPECT_NEAR(b["gbps_runs"][1].get<double>(), 0.9 * b["gbps_runs"][0].get<double>(), 1e-9);
  }
  std::sort(seconds.begin(), seconds.end());
  EXPECT_DOUBLE_EQ(s["gbps"].get<double>(), seconds[1]);
  EXPECT_LT(s["gbps"].get<double>(), best_first);
  // The best point has 32 MiB or more in flight, on io_uring.
  EXPECT_EQ(s["best"][0]["engine"], "io_uring");
  EXPECT_THAT(s["method"].get<std::string>(), HasSubstr("median"));
  EXPECT_TRUE(s.contains("seconds"));
  // No point measured twice outside the remeasure phase.
  for (const auto& [point, n] : disk.runs) EXPECT_LE(n, 2) << point;
}

TEST(StorageSweep, AnEngineThatCannotRunGivesWayToTheNext) {
  ModelDisk disk;
  disk.failing_engine = "io_uring";
  auto s = storage_sweep({{"io_uring", "libaio"}, 50}, std::ref(disk));
  ASSERT_TRUE(s.contains("gbps")) << s.dump(1);
  EXPECT_EQ(s["best"][0]["engine"], "libaio");
  EXPECT_THAT(s["notes"].dump(), HasSubstr("libaio used instead"));
  // io_uring was tried once, as the first point, and once more in fine (the other engine).
  EXPECT_LE(std::count_if(disk.order.begin(), disk.order.end(),
                          [](auto& p) { return p.engine == "io_uring"; }),
            2);
}

TEST(StorageSweep, TheBudgetBoundsTheSearchButTheBestAreStillMeasuredAgain) {
  ModelDisk disk;
  disk.seconds_per_point = 10;
  auto s = storage_sweep({{"io_uring"}, 35}, std::ref(disk));
  ASSERT_TRUE(s.contains("gbps")) << s.dump(1);
  EXPECT_EQ(in_phase(s, "coarse").size() + in_phase(s, "fine").size(), 4u);
  EXPECT_EQ(in_phase(s, "remeasure").size(), 3u);
  EXPECT_THAT(s["notes"].dump(), HasSubstr("budget"));
}

TEST(StorageSweep, NoEngineOrNoWorkingPointIsAnError) {
  ModelDisk disk;
  auto none = storage_sweep({{}, 50}, std::ref(disk));
  EXPECT_FALSE(none.contains("gbps"));
  EXPECT_THAT(none["error"].get<std::string>(), HasSubstr("io_uring"));
  EXPECT_TRUE(disk.order.empty());
  auto broken = storage_sweep({{"io_uring"}, 50}, [](const FioPoint&) {
    PointResult r;
    r.error = "fio failed";
    return r;
  });
  EXPECT_FALSE(broken.contains("gbps"));
  EXPECT_THAT(broken["error"].get<std::string>(), HasSubstr("every fio point failed"));
  auto stopped = storage_sweep({{"io_uring"}, 50}, std::ref(disk), [] { return true; });
  EXPECT_FALSE(stopped.contains("gbps"));
}

TEST(FioCommand, ReadOnlyBoundedAndEachJobItsOwnPart) {
  auto argv = fio_argv({"libaio", true, 4 * kMiB, 8, 2}, "/m.gguf", 1ull << 30, 3);
  auto has = [&](const std::string& a) {
    return std::find(argv.begin(), argv.end(), a) != argv.end();
  };
  EXPECT_EQ(argv[0], "fio");
  for (const char* a :
       {"--readonly", "--rw=read", "--bs=4M", "--direct=1", "--ioengine=libaio", "--iodepth=8",
        "--numjobs=2", "--group_reporting", "--size=536870912", "--offset_increment=536870912",
        "--runtime=3", "--output-format=json", "--filename=/m.gguf"})
    EXPECT_TRUE(has(a)) << a;
  auto small = fio_argv({"psync", false, kMiB, 1, 1}, "/m.gguf", 40 * kMiB, 3);
  EXPECT_NE(std::find(small.begin(), small.end(), "--size=33554432"), small.end());
  EXPECT_NE(std::find(small.begin(), small.end(), "--direct=0"), small.end());
}

TEST(FioCommand, JsonAfterNotesAndErrors) {
  PointResult r;
  parse_fio_json(
      "note: something\n{\"jobs\": [{\"error\": 0, \"read\": {\"io_bytes\": 2000000000, "
      "\"runtime\": 1000}}]}",
      r);
  ASSERT_TRUE(r.gbps);
  EXPECT_DOUBLE_EQ(*r.gbps, 2.0);
  EXPECT_EQ(r.bytes, 2000000000u);
  PointResult bad;
  parse_fio_json("not json", bad);
  EXPECT_FALSE(bad.gbps);
  EXPECT_THAT(bad.error, HasSubstr("fio's JSON"));
  PointResult none;
  parse_fio_json("{\"jobs\": [{\"read\": {\"io_bytes\": 0, \"runtime\": 0}}]}", none);
  EXPECT_FALSE(none.gbps);
  EXPECT_EQ(
      fio_async_engines("Available IO engines:\n\tsync\n\tio_uring\n\tio_uring_cmd\n\tlibaio\n"),
      (std::vector<std::string>{"io_uring", "libaio"}));
  EXPECT_EQ(fio_async_engines("\tio_uring_cmd\n\tlibaio\n"), (std::vector<std::string>{"libaio"}));
}

class HostCache : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("faultline-hostcache-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "sys/class/dmi/id");
    fs::create_directories(root_ / "proc");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel) << text;
  }
  VmSigns detect() {
    return detect_vm("/nonexistent", (root_ / "sys").string(), (root_ / "proc").string());
  }
  fs::path root_;
};

TEST_F(HostCache, VirtualMachineFromDmiOrTheHypervisorFlag) {
  write("proc/cpuinfo", "processor : 0\nflags : fpu vme sse2 hypervisor avx\n");
  auto vm = detect();
  EXPECT_EQ(vm.virtual_machine, true);
  EXPECT_THAT(vm.evidence, HasSubstr("hypervisor"));
  write("proc/cpuinfo", "processor : 0\nflags : fpu vme sse2 avx\n");
  write("sys/class/dmi/id/sys_vendor", "QEMU\n");
  EXPECT_EQ(detect().virtual_machine, true);
  write("sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
  EXPECT_EQ(detect().virtual_machine, false);
  fs::remove(root_ / "proc/cpuinfo");
  fs::remove(root_ / "sys/class/dmi/id/sys_vendor");
  EXPECT_EQ(detect().virtual_machine, std::nullopt);
}

TEST(HostCacheVerdict, ObservedNotObservedUnknown) {
  VmSigns vm{true, "cpuinfo hypervisor flag"};
  auto seen = host_cache_verdict(0.69, 1.33, 512 * kMiB, vm);
  EXPECT_EQ(seen["verdict"], "observed");
  EXPECT_EQ(seen["virtual_machine"], true);
  EXPECT_THAT(seen["detail"].get<std::string>(), HasSubstr("cold in the guest only"));
  auto same = host_cache_verdict(1.4, 1.45, 512 * kMiB, vm);
  EXPECT_EQ(same["verdict"], "not_observed");
  auto failed = host_cache_verdict(std::nullopt, 1.4, 512 * kMiB, {});
  EXPECT_EQ(failed["verdict"], "unknown");
  EXPECT_TRUE(failed["virtual_machine"].is_null());
  EXPECT_TRUE(failed["first_gbps"].is_null());
  for (const auto& j : {seen, same, failed})
    for (const char* key : {"verdict", "virtual_machine", "first_gbps", "again_gbps", "detail"})
      EXPECT_TRUE(j.contains(key)) << key;
}

}  // namespace
}  // namespace faultline::harness
