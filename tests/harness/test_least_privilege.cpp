// Least privilege (issue 6): under sudo, `faultline run` runs the benchmark
// processes as the invoking user and keeps root for the tracer, cache drops
// and cgroups. These tests play sudo by setting SUDO_UID / SUDO_GID to
// `nobody` for the processes they start; they need root (to become nobody).
#include <fcntl.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/credentials.h"
#include "common/process.h"
#include "datasets/generator.h"
#include "harness/runs_schema.h"
#include "tests/support/as_if_sudo.h"

#if FAULTLINE_HARNESS_BPF
#include "bpf/tracer.h"
#endif

namespace faultline::harness {
namespace {
namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of a "Key:\t..." line of /proc/PID/status text.
std::string status_field(const std::string& status, const std::string& key) {
  auto at = status.find("\n" + key + ":\t");
  if (at == std::string::npos) return "";
  at += key.size() + 3;
  return status.substr(at, status.find('\n', at) - at);
}

using faultline::testing::AsIfSudo;

class LeastPrivilege : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: it runs processes as nobody (uid 65534)";
    if (!::getpwuid(kNobody)) GTEST_SKIP() << "this host has no user with uid 65534";
    // A folder `nobody` can reach (mkdtemp makes 0700 ones), on a real disk.
    std::string t = "/var/tmp/faultline-privilege-test-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    ::chmod(dir_.c_str(), 0755);
    ::unsetenv("SUDO_UID");
    ::unsetenv("SUDO_GID");
  }
  void TearDown() override {
    ::unsetenv("FAULTLINE_ANALYSIS_DIR");
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A small GGUF model with the given owner and mode.
  std::string model(const std::string& name, uid_t owner, mode_t mode) {
    GenOptions g;
    g.format = ModelFormat::kGguf;
    g.size = 16ull << 20;
    g.seed = 5;
    g.out = dir_ + "/" + name;
    ensure_model(g);
    EXPECT_EQ(::chown(g.out.c_str(), owner, owner), 0);
    EXPECT_EQ(::chmod(g.out.c_str(), mode), 0);
    return g.out;
  }

  struct Run {
    int code = -1;
    std::string err;
    std::string folder;  // the run folder, "" when none was made
  };
  // `faultline run ARGS --results <dir_>/results`; the results folder belongs
  // to `results_owner` (a user's checkout, say).
  Run run(std::vector<std::string> args, bool calibrate = false, uid_t results_owner = kNobody) {
    const std::string results = dir_ + "/results";
    fs::create_directories(results);
    EXPECT_EQ(::chown(results.c_str(), results_owner, results_owner), 0);
    args.insert(args.begin(), FAULTLINE_EXE);
    args.insert(args.end(), {"--results", results, "--quiet"});
    if (!calibrate) args.push_back("--no-calibration");
    const std::string err_path = dir_ + "/stderr";
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::setenv("FAULTLINE_BENCH", bench_.c_str(), 1);
    const pid_t pid = spawn({args, {}, -1, -1, err});
    ::close(err);
    const ExitInfo e = wait_child(pid, 600);
    Run r;
    r.code = e.exit_code.value_or(-1);
    r.err = slurp(err_path);
    for (const auto& d : fs::directory_iterator(results))
      if (d.is_directory()) r.folder = d.path().string();
    return r;
  }

  std::string dir_;
  std::string bench_ = FAULTLINE_BENCH_EXE;
};

TEST_F(LeastPrivilege, InvokingUserComesFromSudosEnvironment) {
  EXPECT_FALSE(invoking_user()) << "no SUDO_UID: the benchmarks keep our credentials";
  {
    AsIfSudo sudo(kNobody);
    auto user = invoking_user();
    ASSERT_TRUE(user);
    EXPECT_EQ(user->uid, kNobody);
    EXPECT_EQ(user->gid, kNobody);
    EXPECT_EQ(user->name, ::getpwuid(kNobody)->pw_name);
    for (gid_t g : user->groups) EXPECT_NE(g, 0u) << "root's group must not come along";
  }
  {
    AsIfSudo sudo(0);  // `sudo` by root itself
    EXPECT_FALSE(invoking_user());
  }
  ::setenv("SUDO_UID", "12x", 1);
  EXPECT_THROW(invoking_user(), std::invalid_argument);
  ::unsetenv("SUDO_UID");
}

// The kernel's own account of the child: every uid and gid is the user's,
// no supplementary group of root's, no capability left.
TEST_F(LeastPrivilege, ChildRunsWithOnlyTheUsersCredentials) {
  AsIfSudo sudo(kNobody);
  const auto user = invoking_user();
  ASSERT_TRUE(user);
  auto status = capture_output({"/bin/cat", "/proc/self/status"}, 30, &*user);
  ASSERT_TRUE(status);
  const std::string n = std::to_string(kNobody);
  EXPECT_EQ(status_field(*status, "Uid"), n + "\t" + n + "\t" + n + "\t" + n);
  EXPECT_EQ(status_field(*status, "Gid"), n + "\t" + n + "\t" + n + "\t" + n);
  EXPECT_EQ(status_field(*status, "Groups"), n + " ");
  // One capability, CAP_IPC_LOCK (bit 14), when we hold it to hand on:
  // mlock strategies lock without the user's RLIMIT_MEMLOCK in the way.
  const std::string caps = user->ipc_lock ? "0000000000004000" : "0000000000000000";
  EXPECT_EQ(status_field(*status, "CapEff"), caps);
  EXPECT_EQ(status_field(*status, "CapPrm"), caps);
  EXPECT_EQ(status_field(*status, "CapAmb"), caps);
  // Nothing of ours leaks into it: stdin, stdout, stderr, and ls's own
  // handle on the folder it lists.
  auto fds = capture_output({"/bin/ls", "/proc/self/fd"}, 30, &*user);
  ASSERT_TRUE(fds);
  EXPECT_EQ(*fds, "0\n1\n2\n3\n");
}

TEST_F(LeastPrivilege, AccessIsCheckedWithTheUsersRights) {
  AsIfSudo sudo(kNobody);
  const auto user = invoking_user();
  ASSERT_TRUE(user);
  const std::string secret = model("secret.gguf", 0, 0600);
  const std::string shared = model("shared.gguf", 0, 0644);
  const std::string own = model("own.gguf", kNobody, 0644);
  EXPECT_EQ(open_errno_as(*user, secret), EACCES);
  EXPECT_EQ(open_errno_as(*user, shared), 0);
  EXPECT_EQ(open_errno_as(*user, dir_ + "/missing.gguf"), ENOENT);
  EXPECT_FALSE(sees_residency_as(*user, shared)) << "root owns it and nobody cannot write it";
  EXPECT_TRUE(sees_residency_as(*user, own));
  EXPECT_EQ(exec_errno_as(*user, "/bin/cat"), 0);
  EXPECT_EQ(::chmod(shared.c_str(), 0700), 0);
  EXPECT_EQ(exec_errno_as(*user, shared), EACCES);
}

TEST_F(LeastPrivilege, RunRefusesAModelTheUserCannotRead) {
  const std::string secret = model("secret.gguf", 0, 0600);
  AsIfSudo sudo(kNobody);
  auto r = run({"run", "--model", secret, "--strategies", "read", "--patterns", "none", "--cache",
                "cold", "--reps", "1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(secret), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot read it"), std::string::npos) << r.err;
  EXPECT_EQ(r.folder, "") << "nothing may be left behind by a refused run";
}

TEST_F(LeastPrivilege, RunRefusesAModelWhoseResidencyTheUserCannotSee) {
  const std::string shared = model("shared.gguf", 0, 0644);
  AsIfSudo sudo(kNobody);
  auto r = run({"run", "--model", shared, "--strategies", "read", "--patterns", "none", "--cache",
                "cold", "--reps", "1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("residency"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--as-root"), std::string::npos) << r.err;
  EXPECT_EQ(r.folder, "");
}

TEST_F(LeastPrivilege, RunRefusesAResultsFolderTheUserCannotWrite) {
  const std::string own = model("own.gguf", kNobody, 0644);
  AsIfSudo sudo(kNobody);
  auto r = run({"run", "--model", own, "--strategies", "read", "--patterns", "none", "--cache",
                "cold", "--reps", "1"},
               false, /*results_owner=*/0);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;
  EXPECT_EQ(r.folder, "");
}

// The whole path: the bench runs as nobody (its own report of its uid), its
// cold cell really is cold, mlock works (the lifted limit), and the bpf_*
// counters still arrive from the tracer the root harness holds.
TEST_F(LeastPrivilege, RunUnderSudoRunsBenchmarksAsTheUserAndStillTraces) {
  const std::string own = model("own.gguf", kNobody, 0644);
  // Copies nobody can reach even when the checkout is under a 0700 home: the
  // bench, and the analysis sources the report (run as nobody) imports.
  bench_ = dir_ + "/faultline-bench";
  fs::copy_file(FAULTLINE_BENCH_EXE, bench_);
  ::chmod(bench_.c_str(), 0755);
  fs::copy(std::string(FAULTLINE_SOURCE_DIR) + "/analysis", dir_ + "/analysis",
           fs::copy_options::recursive);
  fs::create_directories(dir_ + "/results");  // the schema analysis/ reads
  fs::copy_file(std::string(FAULTLINE_SOURCE_DIR) + "/results/schema.json",
                dir_ + "/results/schema.json");
  ::setenv("FAULTLINE_ANALYSIS_DIR", dir_.c_str(), 1);
  AsIfSudo sudo(kNobody);
  // A memlock limit far below the model (inherited by the run): the mlock
  // cell can only succeed through the CAP_IPC_LOCK the bench is handed.
  rlimit old_memlock{};
  ::getrlimit(RLIMIT_MEMLOCK, &old_memlock);
  const rlimit small{1u << 20, old_memlock.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_MEMLOCK, &small), 0);
  auto r = run({"run", "--model", own, "--strategies", "mmap:private,mmap:private,mlock",
                "--patterns", "forward", "--cache", "cold", "--reps", "1", "--drop-caches"},
               /*calibrate=*/true);
  ::setrlimit(RLIMIT_MEMLOCK, &old_memlock);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_NE(r.folder, "");
  // Every file of the run was written with the user's file rights, the
  // report by the analysis running as the user.
  for (const char* f : {"", "/runs.jsonl", "/env.json", "/raw", "/report.md", "/results.json"}) {
    struct stat st {};
    ASSERT_EQ(::stat((r.folder + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_uid, kNobody) << r.folder + f;
  }
  // Calibration ran as the user too (fio, or the bench's direct:qd=32, and
  // the bench's warm read), and its output came back.
  const auto cal = nlohmann::json::parse(slurp(r.folder + "/calibration.json"));
  EXPECT_TRUE(cal["storage"].contains("gbps")) << cal.dump();
  EXPECT_TRUE(cal["pagecache"].contains("gbps")) << cal.dump();
  const auto env = nlohmann::json::parse(slurp(r.folder + "/env.json"));
  EXPECT_EQ(env["benchmarks_run_as"]["uid"], kNobody);

  std::ifstream rows(r.folder + "/runs.jsonl");
  std::string line;
  int n = 0;
  bool tracing = false;
#if FAULTLINE_HARNESS_BPF
  tracing = !bpf::tracing_unavailable_reason();
#endif
  while (std::getline(rows, line)) {
    ++n;
    auto row = nlohmann::json::parse(line);
    SCOPED_TRACE(line);
    EXPECT_EQ(row[runs::field::kStatus], "ok");
    EXPECT_TRUE(row["warnings"].empty()) << "e.g. an mlock that fell back";
    const auto& m = row["metrics"];
    EXPECT_LT(m["resident_pct"].get<double>(), 1.0) << "cold, measured by the file's owner";
    EXPECT_GT(m["major_faults"].get<double>() + m["read_bytes"].get<double>(), 0);
    // Repetition 1 untraced (the headline numbers), repetition 2 traced (its
    // bpf_* measured, or saying why not when this cannot trace).
    EXPECT_EQ(row["traced"], row["rep"] == 2);
    if (tracing && row["rep"] == 2) {
      // Counters from the harness's tracer: a cold load adds the whole file
      // (4096 pages of 4 KiB) to the page cache; the plain mapping gets there
      // by user faults, mlock by populating inside the kernel.
      EXPECT_GE(m.value("bpf_pagecache_add_pages", 0.0), 4096.0);
      if (row["strategy"] == "mmap:private") {
        EXPECT_GT(m.value("bpf_user_faults", 0.0), 0);
      }
    }
    for (const auto& raw : row["raw"]) {
      const std::string path = r.folder + "/" + raw.get<std::string>();
      if (!path.ends_with("rep1.json")) continue;
      auto bench = nlohmann::json::parse(slurp(path));
      EXPECT_EQ(bench["uid"], kNobody);
    }
  }
  EXPECT_EQ(n, 4);
}

TEST_F(LeastPrivilege, AsRootKeepsTheBenchmarksRoot) {
  const std::string shared = model("shared.gguf", 0, 0644);
  AsIfSudo sudo(kNobody);
  auto r = run({"run", "--as-root", "--model", shared, "--strategies", "read", "--patterns", "none",
                "--cache", "cold", "--reps", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto env = nlohmann::json::parse(slurp(r.folder + "/env.json"));
  EXPECT_EQ(env["benchmarks_run_as"]["uid"], 0);
  std::ifstream rows(r.folder + "/runs.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(rows, line));
  auto row = nlohmann::json::parse(line);
  for (const auto& raw : row["raw"]) {
    if (!raw.get<std::string>().ends_with("rep1.json")) continue;
    EXPECT_EQ(nlohmann::json::parse(slurp(r.folder + "/" + raw.get<std::string>()))["uid"], 0);
  }
}

}  // namespace
}  // namespace faultline::harness
