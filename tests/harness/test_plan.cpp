// The plan: presets, custom matrices, plan files, and the argument errors
// that must stop a run before anything runs.
#include "harness/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "benchmarks/strategy.h"
#include "datasets/generator.h"

namespace faultline::harness {
namespace {

using ::testing::HasSubstr;

TEST(Plan, QuickPresetIsTheIssuesMatrix) {
  PlanRequest r;  // no flags: quick
  Plan p = resolve_plan(r, /*numa_nodes=*/2);
  EXPECT_EQ(p.preset, "quick");
  EXPECT_EQ(p.default_model_bytes, 1ull << 30);
  EXPECT_THAT(p.strategies,
              ::testing::ElementsAre(
                  "read", "mmap:private", "mmap:private,populate", "mmap:private,advise=willneed",
                  "mmap:private,advise=random", "mmap:private,advise=populate_read", "llama.cpp",
                  "llama.cpp:no-mmap", "llama.cpp:mlock", "llama.cpp:numa", "llama.cpp:direct"));
  EXPECT_THAT(p.patterns, ::testing::ElementsAre("none", "forward"));
  EXPECT_THAT(p.caches, ::testing::ElementsAre("cold", "warm"));
  EXPECT_EQ(p.reps, 3);
  EXPECT_EQ(p.traced_reps, 1);
  EXPECT_EQ(p.cells().size(), 11u * 2 * 2 * (3 + 1));
}

TEST(Plan, LlamaCppNumaRunsOnOneNodeToo) {
  // llama.cpp --numa is MADV_RANDOM without prefetch: as slow on one node as on many.
  Plan one = resolve_plan({}, 1);
  EXPECT_EQ(std::count(one.strategies.begin(), one.strategies.end(), "llama.cpp:numa"), 1);
  EXPECT_TRUE(one.skipped.empty());
}

TEST(Plan, EveryPresetResolves) {
  for (const auto& preset : plan_presets()) {
    PlanRequest r;
    r.preset = preset.name;
    Plan p = resolve_plan(r, 2);
    EXPECT_EQ(p.preset, preset.name);
    EXPECT_FALSE(p.strategies.empty()) << preset.name;
  }
}

TEST(Plan, CustomMatrixIsCanonicalAndRepMajor) {
  PlanRequest r;
  r.strategies = "read,mmap:private,advise=random,populate";
  r.patterns = "forward";
  r.caches = "warm,cold";
  r.reps = 2;
  r.traced_reps = 0;
  r.size = "64M";
  Plan p = resolve_plan(r, 1);
  EXPECT_EQ(p.preset, "custom");
  EXPECT_THAT(p.strategies, ::testing::ElementsAre("read", "mmap:private,populate,advise=random"));
  auto cells = p.cells();
  ASSERT_EQ(cells.size(), 2u * 1 * 2 * 2);
  EXPECT_EQ(cells[0].rep, 1);
  EXPECT_EQ(cells[4].rep, 2);
  EXPECT_EQ(cells[0].name(), "load/read/forward/warm");
  std::set<std::string> keys;
  for (const auto& c : cells) keys.insert(c.key());
  EXPECT_EQ(keys.size(), cells.size());
}

TEST(Plan, UntracedRepsFirstThenTracedRepsNumberedAfterThem) {
  PlanRequest r;
  r.strategies = "read,mmap:private";
  r.patterns = "none";
  r.caches = "cold";
  r.reps = 3;
  r.traced_reps = 2;
  r.size = "64M";
  Plan p = resolve_plan(r, 1);
  EXPECT_EQ(p.reps, 3);
  EXPECT_EQ(p.traced_reps, 2);
  auto cells = p.cells();
  ASSERT_EQ(cells.size(), 2u * 5);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(cells[i].rep, int(i / 2) + 1);
    EXPECT_EQ(cells[i].traced, cells[i].rep > 3) << cells[i].key();
  }
  EXPECT_EQ(cells[6].key(), "load/read/none/cold#4");
  std::set<std::string> keys;
  for (const auto& c : cells) keys.insert(c.key());
  EXPECT_EQ(keys.size(), cells.size());
  // Default: one traced repetition; none without the tracer.
  r.traced_reps.reset();
  EXPECT_EQ(resolve_plan(r, 1).traced_reps, 1);
  r.trace = false;
  r.traced_reps = 2;
  EXPECT_EQ(resolve_plan(r, 1).traced_reps, 0);
  EXPECT_EQ(resolve_plan(r, 1).cells().size(), 2u * 3);
  // Stored and read back; a plan.json from before traced repetitions has none.
  Plan q = plan_from_json(to_json(p));
  EXPECT_EQ(q.traced_reps, 2);
  auto old = to_json(p);
  old.erase("traced_reps");
  EXPECT_EQ(plan_from_json(old).traced_reps, 0);
  r.trace = true;
  r.traced_reps = -1;
  EXPECT_THROW(resolve_plan(r, 1), std::invalid_argument);
}

TEST(Plan, BadArgumentsNameTheProblem) {
  auto error_of = [](PlanRequest r) {
    try {
      resolve_plan(r, 1);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  PlanRequest r;
  r.strategies = "mmap:sideways";
  EXPECT_THAT(error_of(r), HasSubstr("sideways"));
  r = {};
  r.preset = "turbo";
  EXPECT_THAT(error_of(r), HasSubstr("unknown preset 'turbo'"));
  r = {};
  r.model = "/nonexistent/model.gguf";
  EXPECT_THAT(error_of(r), HasSubstr("/nonexistent/model.gguf does not exist"));
  r = {};
  r.size = "64";
  EXPECT_THAT(error_of(r), HasSubstr("without a unit"));
  r = {};
  r.memory_limit = "2";
  EXPECT_THAT(error_of(r), HasSubstr("--memory-limit"));
  r = {};
  r.caches = "tepid";
  EXPECT_THAT(error_of(r), HasSubstr("tepid"));
  r = {};
  r.patterns = "sideways";
  EXPECT_THAT(error_of(r), HasSubstr("sideways"));
}

TEST(Plan, PlanFileFillsWhatFlagsLeaveOpen) {
  std::string path =
      ::testing::TempDir() + "/faultline-plan-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"strategies": ["read", "mmap:shared"], "patterns": "none",
                            "reps": 4, "traced_reps": 2, "size": "64M"})";
  PlanRequest r;
  r.reps = 2;  // a flag wins
  r.merge_plan_file(path);
  Plan p = resolve_plan(r, 1);
  EXPECT_THAT(p.strategies, ::testing::ElementsAre("read", "mmap:shared"));
  EXPECT_EQ(p.reps, 2);
  EXPECT_EQ(p.traced_reps, 2);
  EXPECT_EQ(p.default_model_bytes, 64ull << 20);

  std::ofstream(path) << R"({"strategy": "read"})";
  PlanRequest bad;
  EXPECT_THROW(bad.merge_plan_file(path), std::invalid_argument);
  std::remove(path.c_str());
}

TEST(Plan, JsonRoundTrip) {
  PlanRequest r;
  r.strategies = "read,mmap:shared";
  r.memory_limit = "256M";
  r.processes = 3;
  Plan p = resolve_plan(r, 1);
  p.model = "/m.gguf";
  p.model_bytes = 123;
  Plan q = plan_from_json(to_json(p));
  EXPECT_EQ(q.strategies, p.strategies);
  EXPECT_EQ(q.patterns, p.patterns);
  EXPECT_EQ(q.memory_limit_bytes, p.memory_limit_bytes);
  EXPECT_EQ(q.processes, 3);
  EXPECT_EQ(q.cells().size(), p.cells().size());
}

// Numbers a stored plan.json must not smuggle in (found by fuzz_plan: 1e24
// as model bytes was undefined behaviour in the conversion).
TEST(Plan, StoredPlanNumbersOutOfRangeAreErrorsNamingTheKey) {
  PlanRequest r;
  Plan p = resolve_plan(r, 1);
  p.model = "/m.gguf";
  p.model_bytes = 123;
  const nlohmann::json good = to_json(p);
  auto expect_rejected = [&](const char* key, const nlohmann::json& value, const char* what) {
    nlohmann::json j = good;
    j[key] = value;
    try {
      plan_from_json(j);
      ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(what)) << e.what();
      EXPECT_THAT(e.what(), ::testing::HasSubstr("plan.json")) << e.what();
    }
  };
  expect_rejected("default_model_bytes", 1.0737e24, "default_model_bytes");
  expect_rejected("model_bytes", -1, "model_bytes");
  expect_rejected("model_bytes", 1.5, "model_bytes");
  expect_rejected("seed", "42", "seed");
  expect_rejected("reps", 4000000000ull, "reps");
  expect_rejected("reps", 0, "reps 0: must be 1..1000");
  expect_rejected("reps", 1000000, "must be 1..1000");
  expect_rejected("processes", 257, "processes 257: must be 1..256");
  expect_rejected("traced_reps", -1, "traced_reps");
  expect_rejected("traced_reps", 1001, "traced_reps 1001: must be 0..1000");
  EXPECT_EQ(plan_from_json(good).model_bytes, 123u);
}

std::set<std::string> cell_names(const Plan& p) {
  std::set<std::string> out;
  for (const auto& c : p.cells())
    if (c.rep == 1) out.insert(c.name());
  return out;
}

// full: every strategy x every pattern x the caches. standard: the same but
// the patterns beyond none and forward of the strategies that load
// everything up front, named in plan.dropped.
TEST(Plan, FullIsEveryCellStandardDropsTheCellsThatCannotDiffer) {
  std::string dir = "/var/tmp/faultline-plan-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir.data()));
  const std::string model = dir + "/model.gguf";
  GenOptions g;
  g.size = 32ull << 20;
  g.out = model;
  ensure_model(g);
  auto plan_of = [&](const char* preset, const std::string& patterns = "") {
    PlanRequest r;
    r.preset = preset;
    r.model = model;
    r.patterns = patterns;
    Plan p = resolve_plan(r, 1);
    bind_model(p, model);
    return p;
  };
  const Plan full = plan_of("full"), standard = plan_of("standard");
  // Patterns asked for are run.
  EXPECT_TRUE(plan_of("standard", "none,random:10").dropped.empty());
  std::filesystem::remove_all(dir);

  ASSERT_GT(full.patterns.size(), 2u) << "the model fits patterns beyond none and forward";
  EXPECT_EQ(full.strategies, default_strategy_specs());
  EXPECT_EQ(standard.strategies, full.strategies);
  EXPECT_EQ(standard.patterns, full.patterns);
  EXPECT_TRUE(full.dropped.empty());
  EXPECT_EQ(full.cells().size(), full.strategies.size() * full.patterns.size() *
                                     full.caches.size() * (full.reps + full.traced_reps));

  // Written out here, not computed with loads_everything_up_front().
  const std::set<std::string> up_front = {"read",
                                          "pread:threads=4",
                                          "direct",
                                          "direct:qd=32",
                                          "uring:qd=8",
                                          "mmap:private,populate",
                                          "mmap:shared,populate",
                                          "mmap:private,advise=populate_read",
                                          "mmap:private,mlock",
                                          "llama.cpp",
                                          "llama.cpp:no-mmap",
                                          "llama.cpp:mlock",
                                          "llama.cpp:direct",
                                          "llama.cpp:load-mode=mlock"};
  std::set<std::string> expected_dropped;
  for (const auto& s : full.strategies)
    for (const auto& p : full.patterns)
      for (const auto& c : full.caches)
        if (up_front.count(s) && p != "none" && p != "forward")
          expected_dropped.insert(Cell{s, p, c}.name());
  ASSERT_FALSE(expected_dropped.empty());

  std::set<std::string> kept = cell_names(full);
  for (const auto& d : expected_dropped) kept.erase(d);
  EXPECT_EQ(cell_names(standard), kept) << "standard lacks exactly the dropped cells";
  EXPECT_EQ(standard.cells().size(),
            kept.size() * std::size_t(standard.reps + standard.traced_reps));
  ASSERT_EQ(standard.dropped.size(), 1u) << "one entry per rule";
  EXPECT_EQ(
      std::set<std::string>(standard.dropped[0].cells.begin(), standard.dropped[0].cells.end()),
      expected_dropped);
  EXPECT_THAT(standard.dropped[0].reason, HasSubstr("up front"));

  // plan.json names them, and --resume runs the same cells.
  const auto j = to_json(standard);
  ASSERT_EQ(j["dropped"].size(), 1u);
  EXPECT_EQ(j["dropped"][0]["cells"].size(), expected_dropped.size());
  EXPECT_EQ(j["cells"], standard.cells().size());
  EXPECT_EQ(cell_names(plan_from_json(j)), kept);
  EXPECT_TRUE(to_json(full)["dropped"].empty());

  auto summary = dropped_summary(standard);
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_THAT(summary[0], HasSubstr(fmt::format("dropped {} cells", expected_dropped.size())));
  EXPECT_THAT(summary[0], HasSubstr("llama.cpp:direct"));
}

TEST(Plan, RepsAreBounded) {
  PlanRequest r;
  r.reps = 1001;
  EXPECT_THROW(resolve_plan(r, 1), std::invalid_argument);
  r.reps = 1000;
  EXPECT_EQ(resolve_plan(r, 1).reps, 1000);
}

}  // namespace
}  // namespace faultline::harness
