// The closest-spec heuristic on known read sequences (no tracing needed):
// what the real llama.cpp's buffered stdio made of its no-mmap load, what an
// exact per-tensor reader makes, and faultline's own stdio imitation.
#include <fcntl.h>

#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness/syscall_report.h"

namespace faultline::harness {
namespace {

using Reads = std::vector<std::pair<std::uint64_t, std::uint64_t>>;  // offset, bytes

bpf::SyscallEvent read_event(std::uint32_t tid, std::uint64_t offset, std::uint64_t bytes,
                             const char* name = "read") {
  bpf::SyscallEvent e;
  e.tid = e.tgid = tid;
  e.name = name;
  e.ret = static_cast<std::int64_t>(bytes);
  e.args[2] = bytes;
  e.has_range = true;
  e.file_offset = offset;
  e.file_bytes = bytes;
  return e;
}

ClosestStrategy closest(const std::vector<bpf::SyscallEvent>& calls) {
  return make_syscall_report(calls, 0, std::nullopt, {}).closest;
}

std::vector<bpf::SyscallEvent> reads_of(std::uint32_t tid, const Reads& reads) {
  std::vector<bpf::SyscallEvent> out;
  std::uint64_t t = 1;
  for (auto [off, bytes] : reads) {
    out.push_back(read_event(tid, off, bytes));
    out.back().enter_ns = t++;
  }
  return out;
}

// A 32 MiB `faultline-gen --arch llama` F16 GGUF (seed 6): the tensors the
// load reads first, as [offset, bytes) in llama.cpp's no-mmap order.
const Reads kTensors = {{84992, 2565888},  {30990336, 2565888}, {2650880, 1536},
                        {2652416, 294912}, {2947328, 294912},   {3242240, 294912},
                        {3537152, 294912}, {3832064, 1536},     {3833600, 786432},
                        {5406464, 786432}, {4620032, 786432},   {6192896, 1536}};

// strace of node-llama-cpp 3.22.1 (llama_file: fseek + fread, glibc's 4 KiB
// buffer) loading that file with useMmap false, on an AMD EPYC (no weight
// repacking, so the creation order): the fills depend on what the buffer held
// at each seek (a seek inside it makes no call).
const Reads kGlibc = {
    {81920, 3072},     {84992, 2564096},  {2649088, 4096},   {30986240, 4096},  {30990336, 2564096},
    {2650112, 768},    {2650880, 4096},   {2654976, 290816}, {2945792, 4096},   {2949888, 290816},
    {3240704, 4096},   {3244800, 290816}, {3535616, 4096},   {3539712, 290816}, {3830528, 4096},
    {3834624, 782336}, {4616960, 4096},   {5402624, 4096},   {5406720, 782336}, {6189056, 4096},
    {4616192, 4096},   {4620288, 782336}, {5402624, 4096},   {6189056, 4096},   {6193152, 4096}};

TEST(SyscallReport, GlibcStdioReadsOfTheRealLlamaCppAreReadTensorsStdio) {
  auto calls = reads_of(2, kGlibc);
  // node-llama-cpp's own read of the header, from another thread.
  calls.insert(calls.begin(), read_event(1, 0, 4194308, "pread64"));
  const ClosestStrategy c = closest(calls);
  EXPECT_EQ(c.spec, "read:tensors=stdio");
  ASSERT_FALSE(c.notes.empty());
}

TEST(SyscallReport, ExactPerTensorReadsAreReadTensors) {
  EXPECT_EQ(closest(reads_of(2, kTensors)).spec, "read:tensors");
}

// faultline's read:tensors=stdio: per tensor the exact fill up to it, its whole
// blocks and a 4 KiB fill for its tail (a buffer that is empty at each seek).
TEST(SyscallReport, TheStdioImitationIsReadTensorsStdio) {
  Reads imitation;
  for (auto [off, bytes] : kTensors) {
    const std::uint64_t block = off / 4096 * 4096, whole = bytes / 4096 * 4096;
    if (off > block) imitation.emplace_back(block, off - block);
    if (whole) imitation.emplace_back(off, whole);
    if (bytes > whole) imitation.emplace_back(off + whole, 4096);
  }
  EXPECT_EQ(closest(reads_of(2, imitation)).spec, "read:tensors=stdio");
}

// One sequential pass in equal chunks is `read`, however it is aligned.
TEST(SyscallReport, OneChunkedPassIsRead) {
  Reads pass;
  for (std::uint64_t off = 0; off < (8u << 20); off += 1u << 20) pass.emplace_back(off, 1u << 20);
  EXPECT_EQ(closest(reads_of(2, pass)).spec, "read");
}

}  // namespace
}  // namespace faultline::harness
