// faultline doctor: on this kernel every probe the kernel offers gives its
// known answer (the doctor's workloads are themselves the test), what the
// kernel does not offer is "unavailable" with a reason, what cannot apply
// (block I/O and cold on tmpfs) says so, and the verdicts per family are what
// `faultline run` stores in env.json.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/doctor.h"
#include "tests/harness/run_helpers.h"

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string temp_dir(const std::string& parent) {
  std::string t = parent + "/faultline-doctor-test-XXXXXX";
  if (!::mkdtemp(t.data())) return "";
  ::chmod(t.c_str(), 0777);
  return t;
}

TEST(Doctor, VerdictsPerFamily) {
  DoctorReport r;
  r.checks = {{"a", "bpf_pagecache", "tp_btf/x", "w", "1", "1", Verdict::kPass, ""},
              {"b", "bpf_pagecache", "tp_btf/y", "w", "1", "2", Verdict::kFail, ""},
              {"c", "bpf_block", "-", "w", "-", "-", Verdict::kNotApplicable, "tmpfs"},
              {"d", "bpf_fault_latency", "-", "w", "-", "-", Verdict::kUnavailable, "EPERM"},
              {"e", "rusage", "getrusage", "w", "1", "1", Verdict::kPass, ""}};
  const auto f = r.families();
  EXPECT_EQ(f["bpf_pagecache"]["verdict"], "fail");
  EXPECT_THAT(f["bpf_pagecache"]["reason"].get<std::string>(), HasSubstr("expected 1, measured 2"));
  EXPECT_EQ(f["bpf_block"]["verdict"], "not_applicable");
  EXPECT_EQ(f["bpf_fault_latency"]["verdict"], "unavailable");
  EXPECT_EQ(f["bpf_fault_latency"]["reason"], "EPERM");
  EXPECT_EQ(f["rusage"]["verdict"], "pass");
  EXPECT_TRUE(r.any_failed());
  r.checks.erase(r.checks.begin() + 1);
  EXPECT_FALSE(r.any_failed());
  EXPECT_THAT(r.table(), HasSubstr("not applicable"));
}

// As root on this VM: every check passes but the ones the kernel cannot
// offer (fault latency: fentry refused, no kprobes), which say why.
TEST(Doctor, EveryProbeThisKernelOffersGivesItsKnownAnswer) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for the eBPF families";
  const std::string dir = temp_dir("/var/tmp");
  ASSERT_FALSE(dir.empty());
  auto r = testing::run_faultline({"doctor", "--dir", dir, "--json", dir + "/doctor.json"},
                                  dir + "/doctor");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(testing::slurp(dir + "/doctor.json"));
  std::set<std::string> families;
  for (const auto& c : j["checks"]) {
    families.insert(c["family"].get<std::string>());
    EXPECT_NE(c["verdict"], "fail") << c.dump();
    if (c["verdict"] != "pass") {
      EXPECT_FALSE(c["reason"].get<std::string>().empty()) << c.dump();
    }
  }
  for (const char* f :
       {"residency", "rusage", "proc_status", "smaps_rollup", "proc_io", "touch_timer", "perf",
        "peak_rss", "bpf_pagecache", "bpf_block", "bpf_readahead", "bpf_unused", "bpf_timeline",
        "bpf_faults_filemap", "bpf_fault_latency", "bpf_faults_user"})
    EXPECT_TRUE(families.count(f)) << f << " was not checked";
#if FAULTLINE_HARNESS_BPF
  EXPECT_EQ(j["families"]["bpf_pagecache"]["verdict"], "pass");
  EXPECT_EQ(j["families"]["bpf_unused"]["verdict"], "pass");
#else  // built without bpf/: every eBPF family is unavailable and says so
  for (const auto& [name, fam] : j["families"].items())
    if (name.starts_with("bpf_")) {
      EXPECT_EQ(fam["verdict"], "unavailable") << name;
      EXPECT_THAT(fam["reason"].get<std::string>(), HasSubstr("built without BPF")) << name;
    }
#endif
  EXPECT_LT(j["seconds"].get<double>(), 60.0);       // bounded work, not a speed claim
  for (const auto& e : fs::directory_iterator(dir))  // the scratch file never stays
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr("faultline-doctor-")));
  fs::remove_all(dir);
}

TEST(Doctor, OnTmpfsColdAndBlockChecksDoNotApply) {
  if (!fs::exists("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const std::string dir = temp_dir("/dev/shm");
  ASSERT_FALSE(dir.empty());
  auto r = testing::run_faultline({"doctor", "--dir", dir, "--json", dir + "/d.json", "-q"},
                                  dir + "/doctor");
  EXPECT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(testing::slurp(dir + "/d.json"));
  EXPECT_EQ(j["filesystem"], "tmpfs");
#if FAULTLINE_HARNESS_BPF
  EXPECT_EQ(j["families"]["bpf_block"]["verdict"], "not_applicable");
  EXPECT_THAT(j["families"]["bpf_block"]["reason"].get<std::string>(), HasSubstr("tmpfs"));
#endif
  EXPECT_EQ(j["families"]["residency"]["verdict"], "pass");  // the warm check still runs
  fs::remove_all(dir);
}

// Without privileges the eBPF families are unavailable, with the reason,
// and the rest still gives its known answers.
TEST(Doctor, UnprivilegedTheTracerIsUnavailableAndTheRestHolds) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  const std::string dir = temp_dir("/var/tmp");
  ASSERT_FALSE(dir.empty());
  Credentials nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  nobody.groups = {65534};
  nobody.name = "nobody";
  auto r = testing::run_faultline({"doctor", "--dir", dir, "--json", dir + "/d.json"},
                                  dir + "/doctor-as-nobody", &nobody);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(testing::slurp(dir + "/d.json"));
  EXPECT_EQ(j["families"]["bpf_pagecache"]["verdict"], "unavailable");
  EXPECT_THAT(j["families"]["bpf_pagecache"]["reason"].get<std::string>(),
              HasSubstr("tracing unavailable"));
  EXPECT_EQ(j["families"]["rusage"]["verdict"], "pass");
  EXPECT_EQ(j["families"]["proc_io"]["verdict"], "pass");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faultline::harness
