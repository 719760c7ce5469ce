// harness/report_command: `faultline report` / `faultline compare` exec Debian's
// Python on the analysis package, pass its exit status through, and fail with
// a clear message when the interpreter or the sources are missing.
#include "harness/report_command.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

namespace fs = std::filesystem;
using faultline::harness::add_report_commands;
using faultline::harness::run_analysis;
using faultline::harness::write_report;

namespace {

class ReportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("faultline-report-command-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    run_ = tmp_ / "run";
    fs::copy(FIXTURE_DIR, run_, fs::copy_options::recursive);
    ::unsetenv("FAULTLINE_PYTHON");
    ::unsetenv("FAULTLINE_ANALYSIS_DIR");
  }
  void TearDown() override {
    ::unsetenv("FAULTLINE_PYTHON");
    ::unsetenv("FAULTLINE_ANALYSIS_DIR");
    fs::remove_all(tmp_);
  }

  // Parses a faultline command line; returns the exit status its callback threw.
  int faultline(std::vector<std::string> args) {
    CLI::App app{"faultline"};
    app.require_subcommand(1);
    add_report_commands(app);
    args.insert(args.begin(), "faultline");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    try {
      app.parse(int(argv.size()), argv.data());
    } catch (const CLI::Error& e) {
      return e.get_exit_code();
    }
    return 0;
  }

  fs::path tmp_, run_;
};

TEST_F(ReportCommandTest, WriteReportIntoTheRunFolder) {
  ASSERT_EQ(write_report(run_.string(), /*quiet=*/true), 0);
  for (const char* f :
       {"report.md", "report.html", "results.csv", "plots/startup.png", "plots/startup.svg"})
    EXPECT_TRUE(fs::exists(run_ / f)) << f;
}

TEST_F(ReportCommandTest, ReportSubcommandWithOut) {
  const fs::path out = tmp_ / "out";
  EXPECT_EQ(faultline({"report", run_.string(), "--out", out.string(), "--quiet"}), 0);
  EXPECT_TRUE(fs::exists(out / "report.html"));
}

TEST_F(ReportCommandTest, CompareSubcommand) {
  EXPECT_EQ(faultline({"compare", run_.string(), run_.string(), "--changes-only",
                       "--fail-on-regression"}),
            0);
}

TEST_F(ReportCommandTest, BrokenRunPassesTheAnalysisStatusThrough) {
  fs::resize_file(run_ / "runs.jsonl", 100);  // truncated mid-line
  EXPECT_EQ(run_analysis("analysis.report", {run_.string(), "--quiet"}), 2);
  EXPECT_FALSE(fs::exists(run_ / "report.md"));
}

TEST_F(ReportCommandTest, MissingInterpreter) {
  ::setenv("FAULTLINE_PYTHON", (tmp_ / "no-such-python").c_str(), 1);
  EXPECT_EQ(write_report(run_.string(), true), 3);
}

TEST_F(ReportCommandTest, MissingSources) {
  ::setenv("FAULTLINE_ANALYSIS_DIR", tmp_.c_str(), 1);
  EXPECT_EQ(write_report(run_.string(), true), 3);
}

TEST_F(ReportCommandTest, MissingFolderIsACommandLineError) {
  EXPECT_NE(faultline({"report", (tmp_ / "nope").string()}), 0);
}

}  // namespace
