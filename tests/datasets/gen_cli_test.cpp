// faultline-gen as a user runs it: exit codes, free-space refusal, and no file
// under the final name after SIGTERM or SIGKILL mid-write.
#include "datasets/output_file.h"
#include "tests/datasets/test_files.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace faultline {
namespace {

struct GenRun {
  int status = 0;
  std::string err;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Starts faultline-gen with `args`; stderr goes to `err_path`.
pid_t spawn(const std::vector<std::string>& args, const std::string& err_path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    std::vector<char*> argv{const_cast<char*>(FAULTLINE_GEN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(FAULTLINE_GEN, argv.data());
    ::_exit(127);
  }
  return pid;
}

GenRun run(const std::vector<std::string>& args) {
  test::TempDir logs;
  const std::string err = logs.file("stderr");
  GenRun r;
  ::waitpid(spawn(args, err), &r.status, 0);
  r.err = test::read_file(err);
  return r;
}

// The flags every binary shares: -q, sizes refused while parsing naming
// --size, --version.
TEST(GenCli, SharedFlags) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  GenRun r = run({"--format", "gguf", "--size", "12Q", "--out", out});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find("--size: invalid size '12Q'"), std::string::npos) << r.err;
  EXPECT_FALSE(test::exists(out));
  EXPECT_EQ(run({"--format", "gguf", "--size", "1M", "--out", out, "-q"}).exit_code(), 0);
  EXPECT_EQ(test::file_size(out), 1u << 20);
  EXPECT_EQ(run({"--version"}).exit_code(), 0);
}

TEST(GenCli, ExitCodes) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  EXPECT_EQ(run({"--help"}).exit_code(), 0);
  GenRun r = run({"--format", "gguf", "--size", "64", "--out", out});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find("size without a unit"), std::string::npos) << r.err;
  EXPECT_EQ(run({"--format", "zip", "--size", "1M", "--out", out}).exit_code(), 2);
  EXPECT_EQ(run({"--format", "gguf", "--size", "1M"}).exit_code(), 2);
  EXPECT_EQ(
      run({"--format", "safetensors", "--arch", "llama", "--size", "1M", "--out", out}).exit_code(),
      2);
  EXPECT_FALSE(test::exists(out));
  EXPECT_EQ(run({"--format", "gguf", "--size", "1M", "--out", out, "--quiet"}).exit_code(), 0);
  EXPECT_EQ(test::file_size(out), 1u << 20);
  r = run({"--format", "gguf", "--size", "1M", "--out", out});
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_NE(r.err.find("already exists (use --force"), std::string::npos) << r.err;
  EXPECT_EQ(run({"--format", "raw", "--size", "2M", "--out", out, "--force"}).exit_code(), 0);
  EXPECT_EQ(test::file_size(out), 2u << 20);
}

void expect_refused_for_space(const std::string& dir, const std::string& size) {
  const std::string out = dir + "/big.gguf";
  const GenRun r = run({"--format", "gguf", "--size", size, "--out", out});
  EXPECT_EQ(r.exit_code(), 1) << r.err;
  EXPECT_NE(r.err.find("needs " + size + ", only "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" free on " + dir), std::string::npos) << r.err;
  EXPECT_FALSE(test::exists(out));
  EXPECT_FALSE(test::exists(partial_path_for(out, 1)));  // nothing else either:
  for (const auto& e : std::filesystem::directory_iterator(dir))
    ADD_FAILURE() << "left behind " << e.path();
}

TEST(GenCli, RefusesASizeBeyondFreeSpace) {
  test::TempDir dir;
  expect_refused_for_space(dir.path(), "1P");
}

TEST(GenCli, RefusesASizeBeyondFreeSpaceOnSmallTmpfs) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a 16M tmpfs needs root";
  test::TempDir dir;
  if (::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=16M") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  expect_refused_for_space(dir.path(), "64M");
  const GenRun ok = run({"--format", "gguf", "--size", "8M", "--out", dir.file("fits.gguf")});
  EXPECT_EQ(ok.exit_code(), 0) << ok.err;
  ::umount2(dir.path().c_str(), MNT_DETACH);
}

// Starts a 256 MiB generation and stops it (SIGSTOP) as soon as its partial
// file appears, i.e. in the middle of writing. Returns the pid, or -1 if the
// write finished first.
pid_t start_and_freeze(const std::string& out, const std::string& err) {
  const pid_t pid = spawn({"--format", "gguf", "--size", "256M", "--out", out, "--quiet"}, err);
  const std::string partial = partial_path_for(out, pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!test::exists(partial) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(pid, SIGSTOP);
  if (test::exists(out) || !test::exists(partial)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

TEST(GenCli, SigtermMidWriteLeavesNoFileAtAll) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  const pid_t pid = start_and_freeze(out, dir.file("err"));
  if (pid < 0) GTEST_SKIP() << "the generator finished before it could be stopped";
  ::kill(pid, SIGTERM);
  ::kill(pid, SIGCONT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  EXPECT_FALSE(test::exists(out));
  EXPECT_FALSE(test::exists(partial_path_for(out, pid)));
  EXPECT_NE(test::read_file(dir.file("err")).find("removed the partial file"), std::string::npos);
}

TEST(GenCli, SigkillMidWriteLeavesNoFileUnderTheFinalName) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  const pid_t pid = start_and_freeze(out, dir.file("err"));
  if (pid < 0) GTEST_SKIP() << "the generator finished before it could be stopped";
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_FALSE(test::exists(out));
  // Only the hidden, recognisable partial file remains; the next run for the
  // same path removes it.
  EXPECT_TRUE(test::exists(partial_path_for(out, pid)));
  EXPECT_EQ(run({"--format", "gguf", "--size", "1M", "--out", out, "--quiet"}).exit_code(), 0);
  EXPECT_FALSE(test::exists(partial_path_for(out, pid)));
  EXPECT_EQ(test::file_size(out), 1u << 20);
}

// The disk "fills" mid-write: a file-size limit (RLIMIT_FSIZE, SIGXFSZ
// ignored) makes the reservation fail with EFBIG rather than ENOSPC, so the
// generator writes on until write() itself fails at 8 MiB of 32 MiB, exactly
// as a full disk without fallocate would. Deterministic, no mount needed.
TEST(GenCli, WriteFailingMidFileRemovesThePartialFile) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  const std::string err = dir.file("err");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec
    const rlimit lim{8u << 20, 8u << 20};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    const char* argv[] = {FAULTLINE_GEN, "--format",  "gguf",    "--size", "32M",
                          "--out",       out.c_str(), "--quiet", nullptr};
    ::execv(FAULTLINE_GEN, const_cast<char**>(argv));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_FALSE(test::exists(out));
  EXPECT_FALSE(test::exists(partial_path_for(out, pid)));
  EXPECT_NE(test::read_file(err).find("cannot write"), std::string::npos) << test::read_file(err);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename() != "err") ADD_FAILURE() << "left behind " << e.path();
}

}  // namespace
}  // namespace faultline
