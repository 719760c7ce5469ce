// Record and replay, end to end, with the kernel as the judge:
//  - `faultline trace --record` of faultline-bench's per-tensor `read:tensors`
//    loader, replayed by faultline-bench under `read`: the replay issues the
//    recorded reads (offset and size) in the recorded order (the syscall log
//    of the replay says so);
//  - the real llama.cpp (node-llama-cpp, --mode no-mmap) recorded cold and
//    replayed cold under `read`: readahead pages and bytes from storage
//    within 10 % of what the kernel did for llama.cpp itself, the pages
//    readahead asked for too (its two threads read one after the other, and
//    so do the replay's: the recorded order across threads).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/cache.h"
#include "datasets/generator.h"
#include "recording/recording.h"
#include "tests/bpf/bpf_test_support.h"
#include "tests/support/capture.h"
#include "tests/support/node_llama_cpp.h"

namespace faultline::testing {
namespace {
#ifdef FAULTLINE_EXE  // faultline trace is built

namespace fs = std::filesystem;
using json = nlohmann::json;
using Read = std::pair<std::uint64_t, std::uint64_t>;  // offset, bytes

struct Dir {
  fs::path path = fs::path("/var/tmp") / ("faultline-llama-replay-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string model_of(const Dir& d, std::uint64_t size) {
  return llama_gguf(d / "model.gguf", size, 11);
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

// `faultline trace --file MODEL [extra] -- CMD`, its status checked.
void trace(const std::string& model, const std::string& extra, const std::string& cmd) {
  const auto run = capture(std::string(FAULTLINE_EXE) + " trace -q --file " + model + " " + extra +
                           " -- " + cmd + " 2>&1");
  ASSERT_EQ(run.status, 0) << run.out;
}

std::string bench(const std::string& model, const std::string& strategy, const std::string& pattern,
                  const std::string& more = "") {
  return std::string(FAULTLINE_BENCH) + " --model " + model + " --strategies " + strategy +
         " --patterns " + pattern + " --cache cold --reps 1 -q " + more;
}

TEST(LlamaReplay, PerTensorReadsReplayAsTheSameReadsInTheSameOrder) {
  SKIP_WITHOUT_BPF();
  Dir d;
  const std::string model = model_of(d, 16ull << 20);
  const std::string rec = d / "tensors.replay";
  trace(model, "--record " + rec, bench(model, "read:tensors", "none"));
  std::vector<Read> recorded;
  for (const auto& e : recording::read_recording(rec).events)
    if (e.op == recording::Op::kRead) recorded.push_back({e.offset, e.bytes});
  ASSERT_GT(recorded.size(), 20u) << "one read per tensor";

  trace(model, "--json " + d / "replay.json", bench(model, "read", "replay:" + rec));
  const json j = read_json(d / "replay.json");
  std::vector<Read> replayed;
  for (const auto& c : j["syscalls"]["calls"])
    if ((c["name"] == "read" || c["name"] == "pread64") && c["ret"].get<long long>() > 0)
      replayed.push_back({c["args"]["offset"], c["args"]["bytes"]});
  // The replay's own faultline-bench reads the header first; then come the
  // recorded reads, each its own call, in the recorded order.
  ASSERT_GE(replayed.size(), recorded.size());
  const std::vector<Read> tail(replayed.end() - recorded.size(), replayed.end());
  EXPECT_EQ(tail, recorded);
}

// The real llama.cpp's no-mmap load, traced and recorded cold, and its
// replay under `read`, cold and traced: the two sides' metrics of the model.
struct RealAndReplay {
  json real, replay;
  // Pages of the model evicted during either load: then the kernel read
  // parts of it twice on that side, which the other side did not see.
  double evicted() const {
    auto of = [](const json& m) {
      return m.contains("bpf_pagecache_evict_pages") ? m["bpf_pagecache_evict_pages"].get<double>()
                                                     : 0.0;
    };
    return of(real) + of(replay);
  }
};

RealAndReplay record_and_replay(const Dir& d, const std::string& model) {
  RealAndReplay out;
  const std::string rec = d / "llama.replay";
  for (const char* f : {"llama.replay", "llama.json", "b.json"}) fs::remove(d / f);
  make_cold(model);
  trace(model, "--record " + rec + " --json " + d / "llama.json",
        "node " + node_llama_cpp_dir() + "/load.mjs " + model + " --mode no-mmap");
  if (::testing::Test::HasFatalFailure()) return out;
  out.real = read_json(d / "llama.json")["trace"]["metrics"];
  const auto run = capture(bench(model, "read", "replay:" + rec, "--trace --json " + d / "b.json"));
  EXPECT_EQ(run.status, 0) << run.out;
  const json b = read_json(d / "b.json");
  if (b.is_discarded()) return out;
  for (const auto& c : b["cells"])
    if (c["cell"].get<std::string>().rfind("load/read/replay:", 0) == 0) out.replay = c["metrics"];
  return out;
}

TEST(LlamaReplay, RealLlamaCppNoMmapReplaysUnderReadWithinTenPercent) {
  SKIP_WITHOUT_BPF();
  if (auto why = node_llama_cpp_missing()) GTEST_SKIP() << *why;
  Dir d;
  const std::string model = model_of(d, 64ull << 20);
  // Something else may evict pages of the model during a load (a DAMON
  // pageout scheme does, on these VMs: `faultline doctor` says so); that side
  // then reads them twice and its readahead differs. Such a pair is not a
  // comparison of the recording with its replay: it is measured again.
  RealAndReplay run;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    run = record_and_replay(d, model);
    if (HasFatalFailure()) return;
    if (run.evicted() == 0) break;
    std::cout << "attempt " << attempt << ": " << run.evicted()
              << " pages of the model were evicted during the loads; measuring again\n";
  }
  ASSERT_EQ(run.evicted(), 0) << "pages of the model were evicted during every attempt";
  ASSERT_TRUE(run.real.contains("bpf_ra_pages") && run.real.contains("bpf_bio_bytes"))
      << run.real.dump();
  ASSERT_FALSE(run.replay.is_null()) << "no replay cell";
  // Readahead pages and bytes from storage (the bar), and the pages
  // readahead asked for: with the recorded order across the threads the
  // replay's windows are the program's (stream_order.h).
  for (const char* metric : {"bpf_ra_pages", "bpf_ra_requested_pages", "bpf_bio_bytes"}) {
    ASSERT_TRUE(run.replay.contains(metric)) << metric << run.replay.dump();
    const double want = run.real[metric].get<double>(), got = run.replay[metric].get<double>();
    EXPECT_NEAR(got, want, 0.10 * want) << metric << ": llama.cpp " << want << ", replay " << got;
    std::cout << metric << ": llama.cpp " << want << ", replay under read " << got << "\n";
  }
}
#endif

}  // namespace
}  // namespace faultline::testing
