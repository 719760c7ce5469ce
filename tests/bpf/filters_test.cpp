// Who and what the Tracer counts: a cgroup filter takes in every descendant
// cgroup, a pid filter the processes its pids fork, and block I/O is
// charged to the file its pages belong to (direct I/O to the task).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/cgroup.h"
#include "tests/bpf/bpf_test_support.h"

namespace faultline::testing {
namespace {

using bpf::TraceCounters;
using bpf::Tracer;

constexpr std::uint64_t kFileBytes = 32ull << 20;

bool join(const std::string& cgroup_dir) {
  const int fd = open((cgroup_dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && write(fd, "0", 1) == 1;
  if (fd >= 0) close(fd);
  return ok;
}

// Forks a process that runs `work` and waits for it (inside WorkerChild work).
void in_grandchild(const std::function<void()>& work) {
  const pid_t pid = fork();
  if (pid == 0) {
    work();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(11);
}

TEST(Filters, AGrandchildInASubCgroupIsCounted) {
  SKIP_WITHOUT_BPF();
  std::unique_ptr<Cgroup> cgroup;
  try {
    cgroup = std::make_unique<Cgroup>(detect_cgroups(), CgroupOptions{"faultline-test", false});
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  const std::string sub = cgroup->v2_path() + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0) << sub;
  ColdFile file(kFileBytes);
  WorkerChild child([&] {
    if (!join(cgroup->v2_path())) _exit(12);
    in_grandchild([&] {
      if (!join(sub)) _exit(13);
      touch_file_pages(file.path(), MADV_RANDOM);
    });
  });
  Tracer tracer({.cgroup_path = cgroup->v2_path(), .files = {file.path()}});
  ASSERT_TRUE(tracer.start()) << tracer.error();
  child.go();
  child.wait_done();
  const TraceCounters d = tracer.snapshot();
  EXPECT_EQ(child.finish(), 0);
  rmdir(sub.c_str());
  EXPECT_GE(double(d.filemap_faults), 0.9 * double(file.pages()))
      << "the grandchild runs in a sub-cgroup of the traced one";
}

TEST(Filters, AProcessForkedByATracedPidIsCounted) {
  SKIP_WITHOUT_BPF();
  ColdFile file(kFileBytes);
  WorkerChild child([&] { in_grandchild([&] { touch_file_pages(file.path(), MADV_RANDOM); }); });
  Tracer tracer({.pids = {child.pid()}, .files = {file.path()}});
  ASSERT_TRUE(tracer.start()) << tracer.error();
  child.go();  // forks after the tracer is attached
  child.wait_done();
  const TraceCounters d = tracer.snapshot();
  EXPECT_EQ(child.finish(), 0);
  EXPECT_GE(d.forks_followed, 1u);
  EXPECT_GE(double(d.filemap_faults), 0.9 * double(file.pages())) << "the forked child's faults";
}

TEST(Filters, BlockIOIsChargedToTheTracedFileOnly) {
  SKIP_WITHOUT_BPF();
  ColdFile model(kFileBytes), other(kFileBytes);
  const auto d = trace_child({.files = {model.path()}}, [&] {
    read_file(other.path(), 1 << 20);
    read_file(model.path(), 1 << 20);
    read_file(other.path(), 1 << 20, 0, true);
  });
  ASSERT_FALSE(d.availability.not_measured.count("bpf_bio_bytes"));
  const double bytes = double(model.size());
  EXPECT_GE(double(d.bio_bytes), 0.95 * bytes) << "the model's reads";
  EXPECT_LE(double(d.bio_bytes), 1.05 * bytes + (2 << 20))
      << "only the model's bytes (within readahead rounding), not the other file's";
  EXPECT_GT(d.bio_other_files, 0u);
}

TEST(Filters, DirectReadsOfTheModelAreCounted) {
  SKIP_WITHOUT_BPF();
  ColdFile model(kFileBytes);
  const auto d = trace_child({.files = {model.path()}}, [&] {
    const int fd = open(model.path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) _exit(14);
    void* buf = nullptr;
    if (posix_memalign(&buf, 4096, 1 << 20)) _exit(15);
    while (read(fd, buf, 1 << 20) > 0) {
    }
    close(fd);
    free(buf);
  });
  EXPECT_EQ(d.pagecache_add_pages, 0u) << "direct I/O bypasses the page cache";
  EXPECT_NEAR(double(d.bio_bytes), double(model.size()), 0.02 * double(model.size()))
      << "direct reads into anonymous memory are charged to the task";
}

}  // namespace
}  // namespace faultline::testing
