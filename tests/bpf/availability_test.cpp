// Availability is data: what attached, and for every bpf_* metric of the
// schema that is not measured, why; the loader falls back from a mechanism
// the kernel refuses (load or attach) to the next; every mechanism's
// programs pass this kernel's verifier (those it lets us load at all).
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "bpf/tracer_loader.h"
#include "schema/metrics.h"
#include "tests/bpf/bpf_test_support.h"

namespace faultline::testing {
namespace {

using bpf::Tracer;
namespace detail = bpf::detail;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Availability, EveryBpfMetricIsMeasuredOrSaysWhyNot) {
  SKIP_WITHOUT_BPF();
  ColdFile file(8u << 20);
  Tracer tracer({.pids = {getpid()}, .files = {file.path()}, .track_unused = true});
  ASSERT_TRUE(tracer.ok()) << tracer.error();
  const Availability a = tracer.availability();
  EXPECT_TRUE(has(a.probes, "tp_btf/page_fault_user")) << "on x86 with BTF";
  EXPECT_TRUE(has(a.probes, "tp_btf/mm_filemap_add_to_page_cache"));
  ASSERT_TRUE(tracer.start()) << tracer.error();
  const auto before = tracer.snapshot();
  touch_file_pages(file.path(), MADV_RANDOM);
  const auto region = bpf::region_metrics(tracer.snapshot() - before, a);
  for (const auto& info : metric::kAll) {
    if (!info.family.starts_with("bpf_")) continue;
    const std::string name(info.name);
    const bool measured = std::any_of(region.metrics.begin(), region.metrics.end(),
                                      [&](const auto& m) { return m.first == name; });
    const bool reason = region.availability.not_measured.count(name) > 0;
    EXPECT_NE(measured, reason) << name << ": either a value or a reason, never both or none";
    if (reason) {
      EXPECT_FALSE(region.availability.not_measured.at(name).empty()) << name;
    }
  }
  // What this tracer cannot measure is absent, never 0.
  for (const auto& [name, why] : a.not_measured)
    for (const auto& [m, v] : bpf::to_metrics(tracer.snapshot() - before))
      EXPECT_NE(m, name) << name << " is not measured (" << why << ") but reported as " << v;
  EXPECT_FALSE(a.not_measured.count("bpf_ra_unused_pages"))
      << a.not_measured.at("bpf_ra_unused_pages");
  EXPECT_FALSE(a.not_measured.count("bpf_bio_requests"));
}

TEST(Availability, FaultLatencyNamesWhyEachMechanismFailed) {
  SKIP_WITHOUT_BPF();
  Tracer tracer({.pids = {getpid()}});
  ASSERT_TRUE(tracer.ok()) << tracer.error();
  const Availability a = tracer.availability();
  const auto it = a.not_measured.find("bpf_fault_p50_us");
  if (it == a.not_measured.end()) {
    EXPECT_TRUE(has(a.probes, "fentry/handle_mm_fault") || has(a.probes, "kprobe/handle_mm_fault"));
    GTEST_SKIP() << "fault latency is measured on this kernel";
  }
  EXPECT_EQ(it->second.rfind("bpf_fault_latency: ", 0), 0u) << it->second;
  EXPECT_NE(it->second.find("fentry"), std::string::npos) << it->second;
  EXPECT_NE(it->second.find(" and "), std::string::npos) << "then kprobes: " << it->second;
  EXPECT_EQ(a.not_measured.at("bpf_fault_p99_us"), it->second);
}

TEST(Availability, WithoutAFileFilterNeverUsedAndEvictionsSayWhy) {
  SKIP_WITHOUT_BPF();
  Tracer tracer({.pids = {getpid()}, .track_unused = true});
  ASSERT_TRUE(tracer.ok()) << tracer.error();
  const Availability a = tracer.availability();
  ASSERT_TRUE(a.not_measured.count("bpf_ra_unused_pages"));
  EXPECT_NE(a.not_measured.at("bpf_ra_unused_pages").find("--file"), std::string::npos);
  ASSERT_TRUE(a.not_measured.count("bpf_pagecache_evict_pages"));
  EXPECT_FALSE(a.not_measured.count("bpf_pagecache_add_pages"));
}

// A copy of a family's spec with other mechanisms.
detail::FamilySpec with_mechanisms(std::string_view family, std::vector<detail::Mechanism> m) {
  for (const auto& spec : detail::family_specs())
    if (spec.name == family) {
      detail::FamilySpec copy = spec;
      copy.mechanisms = std::move(m);
      return copy;
    }
  throw std::runtime_error("no family " + std::string(family));
}

TEST(Loader, ARefusedMechanismFallsBackToTheNextAndSaysWhy) {
  SKIP_WITHOUT_BPF();
  detail::SharedMaps maps;
  ASSERT_EQ(maps.load({}), "");
  detail::KernelFeatures kernel;
  const detail::Mechanism tp = {"tp_btf", {"page_fault_user"}, {"page_fault_user"}, {}};
  // A mechanism that cannot load (a program the object lacks), then one
  // whose attach the kernel refuses when it has no kprobes (the precheck
  // skipped, so the attach itself is tried), then one that works.
  const auto spec = with_mechanisms(
      "bpf_faults_user",
      {{"tp_btf", {"no_such_program"}, {}, {}},
       {"kprobe", {"handle_mm_fault_kprobe", "handle_mm_fault_kretprobe"}, {}, {"handle_mm_fault"}},
       tp});
  const bool kprobes = kernel.kprobe_refusal().empty();
  detail::LoadedFamily f = detail::load_family(spec, {}, maps, kernel, /*precheck=*/false);
  ASSERT_TRUE(f.ok()) << (f.failures.empty() ? "" : f.failures.back());
  if (kprobes) GTEST_SKIP() << "this kernel attaches kprobes: the refusal path is not exercised";
  EXPECT_STREQ(f.mechanism->kind, "tp_btf");
  ASSERT_EQ(f.failures.size(), 2u);
  EXPECT_NE(f.failures[0].find("missing"), std::string::npos) << f.failures[0];
  EXPECT_NE(f.failures[1].find("kprobe"), std::string::npos) << f.failures[1];
  EXPECT_EQ(f.attach(), "") << "the fallback really attaches";
}

TEST(Loader, EveryMechanismPassesTheVerifier) {
  SKIP_WITHOUT_BPF();
  detail::SharedMaps maps;
  ASSERT_EQ(maps.load({}), "");
  detail::KernelFeatures kernel;
  detail::Config config;
  config.filter_tgid = config.filter_files = config.track_unused = config.timeline = true;
  for (const auto& family : detail::family_specs()) {
    for (const auto& m : family.mechanisms) {
      auto one = with_mechanisms(family.name, {m});
      detail::LoadedFamily f = detail::load_family(one, config, maps, kernel, false);
      for (const auto& why : f.failures) {
        const bool refused = why.find("(EPERM)") != std::string::npos ||
                             why.find("attach refused") != std::string::npos;
        EXPECT_TRUE(refused) << family.name << " " << m.kind << ": " << why;
        if (refused)
          std::printf("  %s %s: %s (kernel refusal, not a verifier failure)\n",
                      std::string(family.name).c_str(), m.kind, why.c_str());
      }
      if (f.ok() && family.carries_unused) {
        EXPECT_TRUE(f.unused) << f.unused_failure;
      }
    }
  }
}

}  // namespace
}  // namespace faultline::testing
