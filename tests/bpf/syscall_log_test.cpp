// `faultline trace --file`'s syscall log ("what did it do?") and --record:
// known answers from faultline-test-syscalls (tests/bpf/syscall_program.cpp),
// agreement with Debian's strace of the same run, the closest strategy spec,
// and the real llama.cpp (programs/node-llama-cpp) in its mmap and no-mmap
// modes. Need root and BPF (skip with the reason otherwise); strace and the
// npm package skip when missing.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/tensor_plan.h"
#include "common/process.h"
#include "datasets/generator.h"
#include "recording/recording.h"
#include "tests/bpf/bpf_test_support.h"
#include "tests/support/node_llama_cpp.h"

#ifndef FAULTLINE_EXE
#define FAULTLINE_EXE ""
#endif

namespace faultline::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

#define SKIP_WITHOUT_TRACE()                                                       \
  do {                                                                             \
    if (auto why = bpf_skip_reason()) GTEST_SKIP() << *why;                        \
    if (std::string(FAULTLINE_EXE).empty()) GTEST_SKIP() << "no faultline target"; \
  } while (0)

// A scratch folder in /var/tmp, removed at the end.
struct Scratch {
  std::string dir;
  Scratch() {
    std::string t = "/var/tmp/faultline-syscalls-XXXXXX";
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    dir = t;
    ::chmod(dir.c_str(), 0755);
  }
  ~Scratch() { fs::remove_all(dir); }
};

// `faultline trace --file FILE --json J [extra] -- argv`: the JSON, or fails.
json trace(const std::string& file, const std::string& json_path,
           const std::vector<std::string>& argv, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {FAULTLINE_EXE, "trace", "-q", "--file", file, "--json", json_path};
  a.insert(a.end(), extra.begin(), extra.end());
  a.push_back("--");
  a.insert(a.end(), argv.begin(), argv.end());
  SpawnOptions so;
  so.argv = a;
  CaptureOptions co;
  co.timeout_s = 240;
  co.capture_stderr = true;
  const Captured c = capture(so, co);
  EXPECT_TRUE(c.ok()) << c.error << c.err;
  std::ifstream in(json_path);
  json j = json::parse(in, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << c.err;
  EXPECT_TRUE(j.contains("syscalls")) << c.err;
  return j;
}

// One line per call on the file, as both sides can say it.
std::string key_of(const std::string& name, const json& args, long long ret) {
  if (name == "openat") return "openat " + args.value("flags", std::string());
  if (name == "mmap")
    return "mmap " + args.value("prot", std::string()) + " " + args.value("flags", std::string()) +
           " " + std::to_string(args.value("bytes", 0ull)) + "@" +
           std::to_string(args.value("offset", 0ull));
  if (name == "fadvise64")
    return "fadvise64 " + args.value("advice", std::string()) + " " +
           std::to_string(args.value("bytes", 0ull)) + "@" +
           std::to_string(args.value("offset", 0ull));
  if (name == "pread64")
    return "pread64 " + std::to_string(ret) + "@" + std::to_string(args.value("offset", 0ull));
  return name + " " + std::to_string(ret);
}

std::vector<std::string> faultline_calls(const json& j) {
  std::vector<std::string> out;
  for (const auto& c : j["syscalls"]["calls"]) {
    const std::string n = c["name"];
    if (n == "openat" || n == "mmap" || n == "fadvise64" || n == "read" || n == "pread64")
      out.push_back(key_of(n, c["args"], c["ret"].get<long long>()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// strace -ff -y: the same calls on `file`, from every PREFIX.PID file.
std::vector<std::string> strace_calls(const std::string& prefix, const std::string& file) {
  std::vector<std::string> out;
  const std::string f = "<" + file + ">";
  const std::regex ret_re(R"re(\) += (-?\d+|0x[0-9a-f]+))re");
  const std::regex open_re(R"re(^openat\([^,]+, "([^"]*)", ([A-Z_|]+))re");
  const std::regex mmap_re(
      R"re(^mmap\([^,]+, (\d+), ([A-Z_|]+), ([A-Z_|]+), \d+<[^>]*>, (0x[0-9a-f]+|\d+)\))re");
  const std::regex fadv_re(R"re(^fadvise64\(\d+<[^>]*>, (\d+), (\d+), ([A-Z_]+)\))re");
  const fs::path dir = fs::path(prefix).parent_path();
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(fs::path(prefix).filename().string() + ".", 0))
      continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, open_re)) {
        if (m[1] == file && line.find(f) != std::string::npos)
          out.push_back("openat " + m[2].str());
      } else if (std::regex_search(line, m, mmap_re)) {
        if (line.find(f) != std::string::npos)
          out.push_back("mmap " + m[2].str() + " " + m[3].str() + " " + m[1].str() + "@" +
                        std::to_string(std::stoull(m[4].str(), nullptr, 0)));
      } else if (std::regex_search(line, m, fadv_re)) {
        if (line.find(f) != std::string::npos)
          out.push_back("fadvise64 " + m[3].str() + " " + m[2].str() + "@" + m[1].str());
      } else if (line.rfind("read(", 0) == 0 || line.rfind("pread64(", 0) == 0) {
        if (line.find(f) == std::string::npos || line.find(f) > 16) continue;
        std::smatch r;
        if (!std::regex_search(line, r, ret_re)) continue;
        const std::string name = line.substr(0, line.find('('));
        std::string k = name + " " + r[1].str();
        if (name == "pread64") {
          const auto close = line.rfind(") ");
          const auto comma = line.rfind(", ", close);
          k += "@" + line.substr(comma + 2, close - comma - 2);
        }
        out.push_back(k);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const json* find_call(const json& j, const std::string& name, std::size_t nth = 0) {
  for (const auto& c : j["syscalls"]["calls"])
    if (c["name"] == name && nth-- == 0) return &c;
  return nullptr;
}

TEST(SyscallLog, ReportsEveryKnownCallWithItsFileRange) {
  SKIP_WITHOUT_TRACE();
  Scratch s;
  TempFile file(4u << 20, 3, s.dir);
  const std::uint64_t size = file.size();
  const json j =
      trace(file.path(), s.dir + "/t.json", {FAULTLINE_TEST_SYSCALLS, "known", file.path()},
            {"--record", s.dir + "/t.replay"});
  const json& sc = j["syscalls"];
  ASSERT_FALSE(sc.contains("not_measured")) << sc.dump();
  EXPECT_EQ(sc["dropped"], 0);
  const json* open = find_call(j, "openat");
  ASSERT_TRUE(open);
  EXPECT_EQ((*open)["args"]["flags"], "O_RDONLY|O_CLOEXEC");
  const std::pair<std::uint64_t, std::uint64_t> ranges[] = {
      {0, 4096}, {65536, 8192}, {12288, 100}, {1 << 20, 65536}};
  for (std::size_t i = 0; i < 4; ++i) {
    const json* r = find_call(j, "pread64", i);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ((*r)["args"]["offset"], ranges[i].first) << i;
    EXPECT_EQ((*r)["args"]["bytes"], ranges[i].second) << i;
    EXPECT_EQ((*r)["ret"], ranges[i].second) << i;
  }
  EXPECT_FALSE(find_call(j, "pread64", 4));
  const json* fadv = find_call(j, "fadvise64");
  ASSERT_TRUE(fadv);
  EXPECT_EQ((*fadv)["args"]["advice"], "POSIX_FADV_SEQUENTIAL");
  EXPECT_EQ((*fadv)["args"]["offset"], 0);
  EXPECT_EQ((*fadv)["args"]["bytes"], 0);
  const json* map = find_call(j, "mmap");
  ASSERT_TRUE(map);
  EXPECT_EQ((*map)["args"]["prot"], "PROT_READ");
  EXPECT_EQ((*map)["args"]["flags"], "MAP_SHARED|MAP_POPULATE");
  EXPECT_EQ((*map)["args"]["offset"], 0);
  EXPECT_EQ((*map)["args"]["bytes"], size);
  const json* adv = find_call(j, "madvise");
  ASSERT_TRUE(adv);
  EXPECT_EQ((*adv)["args"]["advice"], "MADV_WILLNEED");
  EXPECT_EQ((*adv)["args"]["offset"], 0);
  EXPECT_EQ((*adv)["args"]["bytes"], size);
  const std::pair<std::uint64_t, std::uint64_t> unmaps[] = {
      {4096, 4096}, {0, 4096}, {8192, size - 8192}};
  for (std::size_t i = 0; i < 3; ++i) {
    const json* u = find_call(j, "munmap", i);
    ASSERT_TRUE(u) << i;
    EXPECT_EQ((*u)["args"]["offset"], unmaps[i].first) << i;
    EXPECT_EQ((*u)["args"]["bytes"], unmaps[i].second) << i;
  }
  EXPECT_EQ(sc["closest"]["spec"], "mmap:shared,populate,fadvise=sequential,advise=willneed");
  EXPECT_THAT(sc["closest"]["presets"], ::testing::Contains("llama.cpp"));
  EXPECT_EQ(sc["reads"]["count"], 4);

  // The recording: the reads, then the populate ranges of mmap and madvise.
  const recording::Recording rec = recording::read_recording(s.dir + "/t.replay");
  EXPECT_EQ(rec.header.file_bytes, size);
  EXPECT_EQ(rec.header.complete.dropped_events, 0u);
  EXPECT_TRUE(rec.header.complete.reads);
  EXPECT_EQ(rec.header.complete.faults, "sampled");
  std::vector<std::string> access;
  for (const auto& a : recording::access_sequence(rec))
    access.push_back(std::to_string(a.offset) + "+" + std::to_string(a.bytes));
  const std::string whole = "0+" + std::to_string(size);
  ASSERT_GE(access.size(), 6u);
  EXPECT_THAT(
      std::vector<std::string>(access.begin(), access.begin() + 6),
      ::testing::ElementsAre("0+4096", "65536+8192", "12288+100", "1048576+65536", whole, whole));
  std::vector<std::string> calls;
  for (const auto& e : rec.events)
    if (e.op == recording::Op::kSyscall) calls.push_back(e.detail);
  EXPECT_THAT(calls, ::testing::ElementsAre("openat", "fadvise64", "mmap", "madvise", "munmap",
                                            "munmap", "munmap"));
}

TEST(SyscallLog, PerRangeReadsAreTheReadStrategy) {
  SKIP_WITHOUT_TRACE();
  Scratch s;
  TempFile file(2u << 20, 4, s.dir);
  const json j =
      trace(file.path(), s.dir + "/t.json", {FAULTLINE_TEST_SYSCALLS, "tensors", file.path()});
  const json& c = j["syscalls"]["closest"];
  EXPECT_EQ(c["spec"], "read:tensors") << c.dump();
  EXPECT_EQ(j["syscalls"]["reads"]["bytes"], file.size());
}

// The heuristic that tells buffered stdio reads from plain per-tensor reads,
// checked both ways on faultline-bench's own loaders of a llama GGUF.
TEST(SyscallLog, NamesFaultlineBenchsPerTensorLoaders) {
  SKIP_WITHOUT_TRACE();
  Scratch s;
  GenOptions g;
  g.format = ModelFormat::kGguf;
  g.arch = "llama";
  g.size = 16ull << 20;
  g.seed = 3;
  g.out = s.dir + "/model.gguf";
  ensure_model(g);
  for (const std::string spec : {"read:tensors", "read:tensors=stdio"}) {
    const json j = trace(g.out, s.dir + "/t.json",
                         {FAULTLINE_BENCH, "--model", g.out, "--strategies", spec, "--patterns",
                          "none", "--cache", "warm", "--reps", "1", "-q"});
    const json& c = j["syscalls"]["closest"];
    EXPECT_EQ(c["spec"], spec) << c.dump();
  }
}

TEST(SyscallLog, LockRangesAreFileRanges) {
  SKIP_WITHOUT_TRACE();
  Scratch s;
  TempFile file(1u << 20, 7, s.dir);
  const json j =
      trace(file.path(), s.dir + "/t.json", {FAULTLINE_TEST_SYSCALLS, "lock", file.path()},
            {"--record", s.dir + "/t.replay"});
  const json* lock = find_call(j, "mlock");
  const json* lock2 = find_call(j, "mlock2");
  ASSERT_TRUE(lock && lock2) << j["syscalls"].dump();
  EXPECT_EQ((*lock)["ret"], 0);
  EXPECT_EQ((*lock)["args"]["offset"], 65536);
  EXPECT_EQ((*lock)["args"]["bytes"], 65536);
  EXPECT_EQ((*lock2)["args"]["offset"], 262144);
  EXPECT_EQ((*lock2)["args"]["bytes"], 131072);
  EXPECT_EQ((*lock2)["args"]["flags"], "0");
  const json* adv = find_call(j, "madvise");
  ASSERT_TRUE(adv);
  EXPECT_EQ((*adv)["args"]["advice"], "MADV_RANDOM");
  const json* u = find_call(j, "munmap");
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)["args"]["bytes"], file.size());
  EXPECT_EQ(j["syscalls"]["closest"]["spec"], "mmap:private,advise=random,mlock=soft");
  std::vector<std::string> populate;
  for (const auto& e : recording::read_recording(s.dir + "/t.replay").events)
    if (e.op == recording::Op::kPopulate)
      populate.push_back(e.detail + " " + std::to_string(e.offset) + "+" + std::to_string(e.bytes));
  EXPECT_THAT(populate, ::testing::ElementsAre("mlock 65536+65536", "mlock2 262144+131072"));
}

TEST(SyscallLog, IoUringReadsAreSaidToBypassTheSyscalls) {
  SKIP_WITHOUT_TRACE();
  const std::string fio = find_program("fio");
  if (fio.empty()) GTEST_SKIP() << "fio is not installed";
  Scratch s;
  ColdFile file(8u << 20);
  const json j = trace(file.path(), s.dir + "/t.json",
                       {fio, "--name=u", "--filename=" + file.path(), "--ioengine=io_uring",
                        "--rw=read", "--bs=1M", "--direct=0", "--readonly", "--output=/dev/null"});
  const json& sc = j["syscalls"];
  EXPECT_EQ(sc["reads"]["count"], 0);
  EXPECT_EQ(sc["closest"]["spec"], "uring");
  EXPECT_THAT(sc["closest"]["notes"].dump(), ::testing::HasSubstr("io_uring reads bypass"));
}

TEST(SyscallLog, RecordNeedsExactlyOneFile) {
  SKIP_WITHOUT_TRACE();
  const auto out =
      capture_output({FAULTLINE_EXE, "trace", "--record", "/tmp/x.replay", "--", "/bin/true"});
  EXPECT_FALSE(out.has_value());
  EXPECT_FALSE(fs::exists("/tmp/x.replay"));
}

// strace of the same run (faultline traces strace, which runs the program).
void agrees_with_strace(const std::string& file, const std::vector<std::string>& argv,
                        const Scratch& s) {
  const std::string strace = find_program("strace");
  if (strace.empty()) GTEST_SKIP() << "strace is not installed (scripts/setup installs it)";
#if defined(__SANITIZE_ADDRESS__)
  // LeakSanitizer refuses to run under ptrace: our sanitized test program
  // would die at exit under strace.
  ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
#endif
  std::vector<std::string> a = {
      strace, "-ff",        "-y", "-e", "trace=openat,mmap,madvise,fadvise64,mlock,read,pread64",
      "-o",   s.dir + "/st"};
  a.insert(a.end(), argv.begin(), argv.end());
  const json j = trace(file, s.dir + "/st.json", a);
  const auto ours = faultline_calls(j);
  const auto theirs = strace_calls(s.dir + "/st", file);
  EXPECT_FALSE(ours.empty());
  EXPECT_EQ(ours, theirs);
}

TEST(SyscallLog, AgreesWithStrace) {
  SKIP_WITHOUT_TRACE();
  Scratch s;
  TempFile file(4u << 20, 5, s.dir);
  agrees_with_strace(file.path(), {FAULTLINE_TEST_SYSCALLS, "known", file.path()}, s);
}

// ---- the real llama.cpp --------------------------------------------------------

class RealLlamaCpp : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_TRACE();
    if (auto why = node_llama_cpp_missing()) GTEST_SKIP() << *why;
    node_ = find_program("node");
    llama_gguf(s_.dir + "/model.gguf", 32ull << 20, 6);
  }
  std::vector<std::string> argv() const {
    return {node_, node_llama_cpp_dir() + "/load.mjs", s_.dir + "/model.gguf", "--mode",
            GetParam()};
  }
  Scratch s_;
  std::string node_;
};

TEST_P(RealLlamaCpp, NamesTheClosestSpecAndAgreesWithStrace) {
  const std::string model = s_.dir + "/model.gguf";
  const json j = trace(model, s_.dir + "/t.json", argv());
  const json& c = j["syscalls"]["closest"];
  if (GetParam() == "mmap") {
    EXPECT_EQ(c["spec"], "mmap:shared,populate,fadvise=sequential,advise=willneed") << c.dump();
    EXPECT_THAT(c["presets"], ::testing::Contains("llama.cpp"));
    // Whether it copied is for RSS anon to say; the note names what copy=repack takes here.
    EXPECT_THAT(c["notes"].dump(), ::testing::HasSubstr(describe(host_repack_cpu())));
  } else {
    // llama_file reads each tensor through stdio (fseek + fread).
    EXPECT_EQ(c["spec"], "read:tensors=stdio") << c.dump();
    EXPECT_THAT(c["presets"], ::testing::Contains("llama.cpp:no-mmap"));
    EXPECT_EQ(j["syscalls"]["reads"]["bytes"].get<std::uint64_t>() >= fs::file_size(model), true);
  }
  agrees_with_strace(model, argv(), s_);
}

INSTANTIATE_TEST_SUITE_P(Modes, RealLlamaCpp, ::testing::Values("mmap", "no-mmap"), ModeName());

}  // namespace
}  // namespace faultline::testing
