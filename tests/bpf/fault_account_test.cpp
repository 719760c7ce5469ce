// bpf/fault_account.h, the fault accounting faults.bpf.c runs at
// handle_mm_fault entry/exit: fentry and kprobes cannot run on the
// development VM or in CI, so synthetic attempt sequences are the proof that
// faults are counted the way the kernel's mm_account_fault() counts them.
#include <gtest/gtest.h>

#include <vector>

#include "bpf/fault_account.h"

namespace {

// include/linux/mm_types.h (enum vm_fault_reason, enum fault_flag).
constexpr __u32 kOom = 0x1, kSigbus = 0x2, kMajor = 0x4, kHwpoison = 0x10, kHwpoisonLarge = 0x20,
                kSigsegv = 0x40, kNopage = 0x100, kLocked = 0x200, kRetry = 0x400,
                kFallback = 0x800, kCompleted = 0x4000;
constexpr __u32 kWrite = 0x1, kAllowRetry = 0x4, kKillable = 0x10, kTried = 0x20, kUser = 0x40;
constexpr fa_consts kConsts = {
    kRetry, kMajor, kOom | kSigbus | kSigsegv | kHwpoison | kHwpoisonLarge | kFallback, kTried};

// One handle_mm_fault() attempt: entry at `at`, exit `took` ns later.
struct Attempt {
  __u64 at;
  __u32 flags;
  __u32 ret;
  __u64 took;
};

struct Tally {
  int faults = 0, majors = 0, errors = 0;
  std::vector<__u64> ns;
};

Tally account(const std::vector<Attempt>& attempts) {
  fa_task t = {};
  Tally tally;
  for (const auto& a : attempts) {
    fa_enter(&t, a.flags, a.at, &kConsts);
    const fa_result r = fa_exit(&t, a.ret, a.at + a.took, &kConsts);
    if (r.outcome == FA_ERROR) ++tally.errors;
    if (r.outcome != FA_FAULT) continue;
    ++tally.faults;
    tally.majors += r.major;
    tally.ns.push_back(r.ns);
  }
  return tally;
}

TEST(FaultAccount, AMinorFaultIsOneFaultWithItsLatency) {
  const auto t = account({{1000, kUser | kAllowRetry | kKillable, kNopage, 250}});
  EXPECT_EQ(t.faults, 1);
  EXPECT_EQ(t.majors, 0);
  ASSERT_EQ(t.ns.size(), 1u);
  EXPECT_EQ(t.ns[0], 250u);
}

TEST(FaultAccount, VmFaultMajorIsMajor) {
  const auto t = account({{0, kUser, kMajor | kLocked, 9000}});
  EXPECT_EQ(t.faults, 1);
  EXPECT_EQ(t.majors, 1);
}

TEST(FaultAccount, RetriesAreOneMajorFaultTimedFromTheFirstAttempt) {
  // The first attempt drops the lock to wait for I/O (VM_FAULT_RETRY), the
  // retry (FAULT_FLAG_TRIED) finds the page: one fault, major because it
  // retried, 100 us from the first entry to the last exit.
  const auto t = account({{0, kUser | kAllowRetry, kRetry | kMajor, 40000},
                          {90000, kUser | kAllowRetry | kTried, 0, 10000}});
  EXPECT_EQ(t.faults, 1);
  EXPECT_EQ(t.majors, 1) << "FAULT_FLAG_TRIED makes it major, as mm_account_fault does";
  ASSERT_EQ(t.ns.size(), 1u);
  EXPECT_EQ(t.ns[0], 100000u);
}

TEST(FaultAccount, SeveralRetriesStillCountOnce) {
  const auto t = account({{0, kUser | kAllowRetry, kRetry, 10},
                          {20, kUser | kTried, kRetry, 10},
                          {40, kUser | kTried, kRetry, 10},
                          {60, kUser | kTried, kCompleted, 10}});
  EXPECT_EQ(t.faults, 1);
  EXPECT_EQ(t.majors, 1);
  EXPECT_EQ(t.ns.at(0), 70u);
}

TEST(FaultAccount, ErrorsAreNotSuccessfulFaults) {
  for (__u32 err : {kOom, kSigbus, kSigsegv, kHwpoison, kHwpoisonLarge, kFallback}) {
    const auto t = account({{0, kUser, err, 5}});
    EXPECT_EQ(t.faults, 0) << err;
    EXPECT_EQ(t.errors, 1) << err;
    EXPECT_TRUE(t.ns.empty());
  }
  // An error after a retry: one error, no fault.
  const auto t = account({{0, kUser | kAllowRetry, kRetry, 5}, {10, kUser | kTried, kSigbus, 5}});
  EXPECT_EQ(t.faults, 0);
  EXPECT_EQ(t.errors, 1);
}

TEST(FaultAccount, AnAbandonedRetryDoesNotLendItsStartToTheNextFault) {
  // A fault returns VM_FAULT_RETRY and the task never retries (fatal
  // signal); the next fault (no FAULT_FLAG_TRIED) starts afresh.
  const auto t = account({{0, kUser | kAllowRetry, kRetry, 5}, {1000000, kUser | kWrite, 0, 300}});
  EXPECT_EQ(t.faults, 1);
  EXPECT_EQ(t.majors, 0);
  EXPECT_EQ(t.ns.at(0), 300u);
}

TEST(FaultAccount, AnExitWithoutItsEntryIsNotCounted) {
  fa_task t = {};  // attached in the middle of a fault: no entry seen
  EXPECT_EQ(fa_exit(&t, 0, 100, &kConsts).outcome, FA_NONE);
  fa_enter(&t, kUser, 200, &kConsts);
  EXPECT_EQ(fa_exit(&t, 0, 250, &kConsts).outcome, FA_FAULT);
  EXPECT_EQ(fa_exit(&t, 0, 260, &kConsts).outcome, FA_NONE) << "one exit per entry";
}

TEST(FaultAccount, AMixedStreamMatchesTheKernelsCounts) {
  // 1000 faults: every 10th retries once (major), every 50th is a SIGSEGV,
  // every 7th returns VM_FAULT_MAJOR directly.
  std::vector<Attempt> attempts;
  int want_faults = 0, want_majors = 0, want_errors = 0;
  __u64 now = 0;
  for (int i = 0; i < 1000; ++i, now += 1000) {
    if (i % 50 == 0) {
      attempts.push_back({now, kUser, kSigsegv, 10});
      ++want_errors;
      continue;
    }
    if (i % 10 == 0) {
      attempts.push_back({now, kUser | kAllowRetry, kRetry, 100});
      attempts.push_back({now + 500, kUser | kTried, 0, 100});
      ++want_majors;
    } else {
      const bool major = i % 7 == 0;
      attempts.push_back({now, kUser, major ? kMajor : 0u, 100});
      want_majors += major;
    }
    ++want_faults;
  }
  const auto t = account(attempts);
  EXPECT_EQ(t.faults, want_faults);
  EXPECT_EQ(t.majors, want_majors);
  EXPECT_EQ(t.errors, want_errors);
  for (__u64 ns : t.ns) EXPECT_TRUE(ns == 100 || ns == 600) << ns;
}

}  // namespace
