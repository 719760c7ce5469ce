// Programs as cells, end to end: `faultline run --command` with a stand-in
// program (faultline-test-fake-loader: maps the model, touches every page,
// prints "ready") cold and warm, its baseline, and the ways a program goes
// wrong (hangs, fails, never says ready, ignores SIGTERM, the run is
// interrupted). Physical invariants only: the model's mapping is resident
// as a whole, a cold load reads the model from storage, a warm one does not.
// Root: the cell's memory cgroup (its faults and peak) and the tracer.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/runs_schema.h"
#include "schema/metrics.h"
#include "tests/harness/robustness_fixture.h"

namespace faultline::harness {
namespace {

using ::testing::HasSubstr;

class ProgramCells : public testing::RunSuite<ProgramCells> {
 public:
  static constexpr const char* kFolderPrefix = "faultline-program-test";
  static constexpr std::uint64_t kModelBytes = 32ull << 20;
  static constexpr std::uint64_t kSeed = 13;

 protected:
  void SetUp() override {
    RunSuite::SetUp();
    if (::geteuid() != 0)
      GTEST_SKIP() << "program cells are measured in their own memory cgroup, traced: needs root";
  }
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {
        "run",          "--model", model(),      "--results", results_, "--no-calibration",
        "--strategies", "read",    "--patterns", "none"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static std::string fake(const std::string& flags = "") {
    return std::string(FAULTLINE_FAKE_LOADER_EXE) + " {model}" + (flags.empty() ? "" : " " + flags);
  }
  std::vector<nlohmann::json> program_rows() const {
    std::vector<nlohmann::json> out;
    for (auto& r : testing::read_rows(folder()))
      if (r["strategy"].get<std::string>().starts_with("cmd:")) out.push_back(r);
    return out;
  }
};

// Every metric a program row has, or says why not.
const std::string_view kProgramMetrics[] = {
    metric::kReadyMs,       metric::kRssBytes,    metric::kRssFileBytes,
    metric::kRssAnonBytes,  metric::kPssBytes,    metric::kPeakRssBytes,
    metric::kRssModelBytes, metric::kMajorFaults, metric::kMinorFaults,
    metric::kReadBytes,     metric::kResidentPct, metric::kCgroupPeakBytes,
    metric::kFirstPassMs,   metric::kTotalMs,     metric::kTaskClockMs,
    metric::kBpfUserFaults, metric::kBpfRaPages,  metric::kBpfPagecacheAddPages,
    metric::kBpfBioBytes,
};

// Bad --command options are usage errors naming the option; nothing is written.
TEST(ProgramCellOptions, BadCommandsAreUsageErrorsBeforeAnythingRuns) {
  const std::string dir = ::testing::TempDir() + "/program-options";
  std::filesystem::create_directories(dir);
  const std::string model = dir + "/model.bin";
  std::ofstream(model) << "not much of a model";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--command=x=echo $(id) {model}", "--command x: '$'"},
      {"--command=x=echo `id` {model}", "--command x: '`'"},
      {"--command=x=no-such-program-anywhere {model}", "program 'no-such-program-anywhere'"},
      {"--command=bad name=ls", "--command: bad NAME"},
      {"--command=x=", "--command x: empty command"},
  };
  for (const auto& [option, said] : bad) {
    auto r = testing::run_faultline(
        {"run", "--model", model, "--results", dir + "/results", "--no-calibration", option},
        dir + "/run");
    EXPECT_EQ(r.code, 2) << option;
    EXPECT_THAT(r.err, HasSubstr(said)) << option;
  }
  auto r = testing::run_faultline({"run", "--model", model, "--results", dir + "/results",
                                   "--command", "x=ls {model}", "--ready", "x=(("},
                                  dir + "/run");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--ready: '((' is not a regular expression"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/results")) << "nothing written";
}

TEST_F(ProgramCells, ColdAndWarmRowsMeasureTheTreeAndTheModelsMapping) {
  auto r = testing::run_faultline(
      args({"--command", "fake=" + fake(), "--command-baseline", "fake=" + fake(), "--ready",
            "fake=^ready", "--fidelity", "cmd:fake=mmap:private", "--cache", "cold,warm", "--reps",
            "1", "--traced-reps", "1"}),
      results_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cmd:fake")) << "the end-of-run table has the program's rows";
  const auto plan = nlohmann::json::parse(testing::slurp(folder() + "/plan.json"));
  EXPECT_EQ(plan["fidelity"], nlohmann::json({{"cmd:fake", "mmap:private"}}));
  ASSERT_EQ(plan["commands"].size(), 1u);
  EXPECT_EQ(plan["commands"][0]["argv"][1], model());

  const auto rows = program_rows();
  ASSERT_EQ(rows.size(), 8u);  // program + baseline × cold, warm × 2 reps
  for (const auto& row : rows) {
    SCOPED_TRACE(row["cell"].get<std::string>() + " rep " + std::to_string(row["rep"].get<int>()));
    EXPECT_TRUE(runs::validate(row).empty()) << row.dump();
    ASSERT_EQ(row["status"], "ok") << row["error"];
    for (const std::string_view view : kProgramMetrics) {
      const std::string name(view);
      const bool traced_only = name.starts_with("bpf_");
      if (traced_only && !row["traced"].get<bool>()) continue;
      EXPECT_TRUE(row["metrics"].contains(name) || !row["not_measured"].value(name, "").empty())
          << name << " is neither measured nor explained";
    }
    const auto& m = row["metrics"];
    const bool baseline = row["pattern"] == "baseline";
    const double bytes = row["model_bytes"].get<double>();
    EXPECT_EQ(row["command"][1], row["model"]);
    if (baseline) {
      EXPECT_NE(row["model"], model());
      EXPECT_LT(bytes, 8 << 20);
    } else {
      EXPECT_EQ(row["model"], model());
    }
    // The whole file is mapped and touched: its mapping's Rss is the file.
    EXPECT_NEAR(m.at(metric::kRssModelBytes).get<double>(), bytes, 4 * 4096.0);
    EXPECT_GE(m.at(metric::kRssFileBytes).get<double>(), bytes);
    EXPECT_GE(m.at(metric::kPeakRssBytes).get<double>(), bytes);
    EXPECT_GT(m.at(metric::kReadyMs).get<double>(), 0);
    if (row["cache"] == "cold") {
      EXPECT_LT(m.at(metric::kResidentPct).get<double>(), 1.0);
      const double read = m.at(metric::kReadBytes).get<double>();
      EXPECT_GE(read, bytes) << "a cold load reads the model from storage";
      EXPECT_LE(read, bytes + (2 << 20));
      EXPECT_GE(m.at(metric::kMajorFaults).get<double>(), 1);
    } else {
      EXPECT_GE(m.at(metric::kResidentPct).get<double>(), 99.0);
      EXPECT_LT(m.at(metric::kReadBytes).get<double>(), 1 << 20);
    }
    if (row["traced"].get<bool>() && m.contains(metric::kBpfPagecacheAddPages) &&
        row["cache"] == "cold") {
      EXPECT_NEAR(m.at(metric::kBpfPagecacheAddPages).get<double>(), bytes / 4096, 64);
    }
  }
  EXPECT_TRUE(processes_mentioning(*dir_ + "/model").empty());
}

TEST_F(ProgramCells, HungFailingSilentAndStubbornProgramsEndAsTheirRowsSay) {
  auto r = testing::run_faultline(args({"--command",      "hang=" + fake("--hang"),
                                        "--command",      "bad=" + fake("--fail"),
                                        "--command",      "silent=" + fake("--silent"),
                                        "--command",      "stubborn=" + fake("--ignore-term"),
                                        "--command",      "exiter=" + fake("--exit 300"),
                                        "--ready",        "hang=^ready",
                                        "--ready",        "silent=^ready",
                                        "--ready",        "stubborn=^ready",
                                        "--cell-timeout", "2s",
                                        "--cache",        "warm",
                                        "--reps",         "1",
                                        "--traced-reps",  "0"}),
                                  results_);
  EXPECT_EQ(r.code, 1) << r.err;
  std::map<std::string, nlohmann::json> by;
  for (auto& row : program_rows()) by[row["strategy"].get<std::string>()] = row;
  ASSERT_EQ(by.size(), 5u);
  for (auto& [name, row] : by) EXPECT_TRUE(runs::validate(row).empty()) << row.dump();

  EXPECT_EQ(by["cmd:hang"]["status"], "timeout");
  EXPECT_THAT(by["cmd:hang"]["error"].get<std::string>(), HasSubstr("--cell-timeout"));
  EXPECT_EQ(by["cmd:hang"]["not_measured"].value(metric::kReadyMs, ""),
            "the program never became ready");

  EXPECT_EQ(by["cmd:bad"]["status"], "failed");
  EXPECT_THAT(by["cmd:bad"]["error"].get<std::string>(), HasSubstr("exited with 3"));
  EXPECT_THAT(by["cmd:bad"]["error"].get<std::string>(), HasSubstr("cannot load the model"));

  EXPECT_EQ(by["cmd:silent"]["status"], "failed");
  EXPECT_THAT(by["cmd:silent"]["error"].get<std::string>(),
              HasSubstr("without printing a line matching ^ready"));

  // Ready by its line, then SIGTERM, which it ignores: SIGKILL after the grace.
  EXPECT_EQ(by["cmd:stubborn"]["status"], "ok") << by["cmd:stubborn"]["error"];
  EXPECT_EQ(by["cmd:stubborn"]["term_signal"], SIGKILL);

  // Ready = exit: sampled while it ran.
  const auto& exiter = by["cmd:exiter"];
  EXPECT_EQ(exiter["status"], "ok") << exiter["error"];
  EXPECT_GE(exiter["metrics"].value(metric::kReadyMs, 0.0), 300);
  EXPECT_NEAR(exiter["metrics"].value(metric::kRssModelBytes, 0.0), double(kModelBytes),
              4 * 4096.0);
  EXPECT_TRUE(processes_mentioning(*dir_ + "/model").empty()) << "no program is left running";
}

TEST_F(ProgramCells, InterruptedDuringAProgramCellLeavesConsistentRows) {
  const std::string base = results_ + ".int";
  const pid_t pid = testing::start_faultline(
      args({"--command", "hang=" + fake("--hang"), "--ready", "^ready", "--cell-timeout", "120s",
            "--cache", "warm", "--reps", "1", "--traced-reps", "0"}),
      base);
  // The held program itself (faultline's own command line has "{model}").
  const std::string hung = std::string(FAULTLINE_FAKE_LOADER_EXE) + " " + model() + " --hang";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (processes_mentioning(hung).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(processes_mentioning(hung).empty()) << testing::slurp(base + ".err");
  ::kill(pid, SIGTERM);
  const auto res = testing::finish_faultline(pid, base);
  EXPECT_EQ(res.code, 128 + SIGTERM) << res.err;
  const auto rows = testing::read_rows(folder());
  EXPECT_EQ(rows.size(), 1u) << "the bench cell before it, not the interrupted program cell";
  for (const auto& row : rows) EXPECT_TRUE(runs::validate(row).empty()) << row.dump();
  EXPECT_TRUE(program_rows().empty());
  EXPECT_TRUE(processes_mentioning(hung).empty()) << "the program is gone";
}

}  // namespace
}  // namespace faultline::harness
