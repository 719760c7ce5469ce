// One command line across the binaries: --version everywhere (the same
// version and commit as env.json), one name per concept with the old
// spellings as aliases, --json FILE, and sizes and durations refused while
// parsing (exit 2, naming the option) instead of reaching a std::chrono
// conversion.
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/version.h"
#include "harness/run_command.h"
#include "tests/support/capture.h"

namespace faultline {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr
};

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

Result run(const std::string& exe, const std::vector<std::string>& args) {
  std::string line = exe;
  for (const auto& a : args) line += " " + quote(a);
  auto c = testing::capture(line + " 2>&1 </dev/null");
  return {WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1, c.out};
}

struct Binary {
  std::string name, path;
};

std::vector<Binary> binaries() {
  std::vector<Binary> b = {{"faultline", FAULTLINE_EXE},
                           {"faultline-bench", FAULTLINE_BENCH_EXE},
                           {"faultline-gen", FAULTLINE_GEN_EXE},
                           {"faultline-hold", FAULTLINE_HOLD_EXE},
                           {"faultline-validate-rows", FAULTLINE_VALIDATE_ROWS_EXE}};
  if (std::string(FAULTLINE_TRACE_OVERHEAD_EXE) != "")
    b.push_back({"faultline-trace-overhead", FAULTLINE_TRACE_OVERHEAD_EXE});
  return b;
}

// "faultline-bench 0.1.0 (git 908e636, built 2026-12-01)"
void expect_version_line(const std::string& out, const std::string& name) {
  const std::regex line("^" + std::regex_replace(name, std::regex("[.+]"), "\\$&") + " " +
                        FAULTLINE_PROJECT_VERSION +
                        " \\(git ([0-9a-f]{7}(-dirty)?|unknown), built "
                        "[0-9]{4}-[0-9]{2}-[0-9]{2}\\)\n$");
  EXPECT_TRUE(std::regex_match(out, line)) << out;
}

TEST(Version, EveryBinaryPrintsItsNameVersionAndCommit) {
  for (const auto& b : binaries()) {
    SCOPED_TRACE(b.name);
    auto r = run(b.path, {"--version"});
    EXPECT_EQ(r.code, 0) << r.out;
    expect_version_line(r.out, b.name);
    EXPECT_THAT(r.out, HasSubstr(version_line(b.name)));  // the same build as this test
  }
}

TEST(Version, EverySubcommandOfFaultline) {
  std::vector<std::string> subs = {"run", "env", "report", "compare", "doctor"};
#if FAULTLINE_HARNESS_BPF
  subs.push_back("trace");
#endif
  for (const auto& s : subs) {
    SCOPED_TRACE(s);
    auto r = run(FAULTLINE_EXE, {s, "--version"});
    EXPECT_EQ(r.code, 0) << r.out;
    expect_version_line(r.out, "faultline");
  }
}

// env.json says what --version says: one owner (cmake/version.cmake).
TEST(Version, EnvJsonHasTheSameCommit) {
  const std::string path = "/var/tmp/faultline-test-env-" + std::to_string(::getpid()) + ".json";
  auto r = run(FAULTLINE_EXE, {"env", "--json", path});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "") << "--json FILE writes the file, not stdout";
  std::ifstream in(path);
  auto env = nlohmann::json::parse(in);
  ::unlink(path.c_str());
  EXPECT_EQ(env["faultline"]["version"], FAULTLINE_PROJECT_VERSION);
  EXPECT_EQ(env["faultline"]["git_commit"], std::string(git_commit()));
  EXPECT_EQ(env["faultline"]["build_date"], std::string(build_date()));
  const auto line = run(FAULTLINE_EXE, {"--version"}).out;
  const std::string commit = env["faultline"]["git_commit"];
  if (commit != "unknown") {
    EXPECT_THAT(line, HasSubstr("git " + commit.substr(0, 7)));
  }
}

// `faultline env --json` without FILE still prints env.json (the old use).
TEST(Cli, EnvJsonWithoutFilePrints) {
  auto r = run(FAULTLINE_EXE, {"env", "--json"});
  ASSERT_EQ(r.code, 0) << r.out;
  auto env = nlohmann::json::parse(r.out);
  EXPECT_EQ(env["env_version"], 1);
}

harness::RunOptions parse_run(const std::vector<std::string>& args) {
  CLI::App app{"faultline"};
  harness::RunOptions o;
  harness::add_run_options(app, o);
  std::vector<std::string> argv = {"run"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::reverse(argv.begin(), argv.end());  // CLI11's vector form takes them reversed
  app.parse(argv);
  return o;
}

TEST(Cli, RunRepsAndIterationsAreOneOption) {
  auto reps = parse_run({"--reps", "4"});
  auto iterations = parse_run({"--iterations", "4"});
  EXPECT_EQ(reps.reps, 4);
  EXPECT_EQ(iterations.reps, 4);
}

TEST(Cli, RunSingularSpellingsAreAliases) {
  auto plural = parse_run(
      {"--strategies", "read,mmap:private", "--patterns", "none,forward", "--cache", "warm"});
  auto singular = parse_run(
      {"--strategy", "read,mmap:private", "--pattern", "none,forward", "--caches", "warm"});
  EXPECT_EQ(plural.request.strategies, "read,mmap:private");
  EXPECT_EQ(singular.request.strategies, plural.request.strategies);
  EXPECT_EQ(singular.request.patterns, plural.request.patterns);
  EXPECT_EQ(singular.request.caches, plural.request.caches);
}

TEST(Cli, CellTimeoutTakesDurations) {
  EXPECT_EQ(parse_run({"--cell-timeout", "120"}).request.cell_timeout_s, 120);
  EXPECT_EQ(parse_run({"--cell-timeout", "30m"}).request.cell_timeout_s, 1800);
  EXPECT_EQ(parse_run({"--cell-timeout", "1.5s"}).request.cell_timeout_s, 1.5);
  EXPECT_EQ(parse_run({}).request.cell_timeout_s, 1800);
}

// Refused while parsing: nothing runs, exit 2, the message names the option.
TEST(Cli, CellTimeoutRefusesWhatNoClockCanHold) {
  for (const std::string bad : {"inf", "1e30", "-1", "nan", "0", "-inf", "1e400", "10x", ""}) {
    SCOPED_TRACE(bad);
    auto r = run(FAULTLINE_EXE, {"run", "--cell-timeout", bad, "--model", "/nonexistent/m.gguf"});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_THAT(r.out, HasSubstr("--cell-timeout"));
  }
}

TEST(Cli, SizesAreRefusedNamingTheOption) {
  struct Case {
    std::string exe;
    std::vector<std::string> args;
    std::string option;
  };
  std::vector<Case> cases = {
      {FAULTLINE_EXE, {"run", "--size", "12Q", "--model", "/nonexistent/m.gguf"}, "--size"},
      {FAULTLINE_EXE,
       {"run", "--memory-limit", "12Q", "--model", "/nonexistent/m.gguf"},
       "--memory-limit"},
      {FAULTLINE_BENCH_EXE, {"--size", "12Q"}, "--size"},
      {FAULTLINE_GEN_EXE,
       {"--format", "gguf", "--size", "12Q", "--out", "/nonexistent/x"},
       "--size"},
      {FAULTLINE_GEN_EXE,
       {"--format", "gguf", "--size", "64", "--out", "/nonexistent/x"},
       "--size"},
  };
  if (std::string(FAULTLINE_TRACE_OVERHEAD_EXE) != "")
    cases.push_back({FAULTLINE_TRACE_OVERHEAD_EXE, {"--size", "12Q"}, "--size"});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.exe + " " + c.args[0] + " " + c.args[1]);
    auto r = run(c.exe, c.args);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.option + ": invalid size"));
  }
}

#if FAULTLINE_HARNESS_BPF
TEST(Cli, TraceDurationIsRefusedNamingTheOption) {
  for (const std::string bad : {"inf", "1e30", "-1s", "nan", "soon"}) {
    SCOPED_TRACE(bad);
    auto r = run(FAULTLINE_EXE, {"trace", "--duration", bad});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_THAT(r.out, HasSubstr("--duration: invalid duration"));
  }
  auto r = run(FAULTLINE_EXE, {"trace", "--rss-interval-ms", "-5", "--duration", "1s"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--rss-interval-ms"));
}
#else
// Without the tracer `faultline trace` still exists and says why it cannot run.
TEST(Cli, TraceWithoutBpfSaysWhy) {
  auto r = run(FAULTLINE_EXE, {"trace", "--", "/bin/true"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("built without BPF (FAULTLINE_SKIP_BPF=ON)"));
}
#endif

// Bad arguments exit 2 in every binary (not CLI11's own 105-109).
TEST(Cli, BadArgumentsExitTwoEverywhere) {
  for (const auto& b : binaries()) {
    SCOPED_TRACE(b.name);
    EXPECT_EQ(run(b.path, {"--no-such-flag"}).code, 2);
  }
}

// -q exists wherever something prints progress or chatter.
TEST(Cli, QuietEverywhere) {
  for (const auto& [exe, args] : std::vector<std::pair<std::string, std::vector<std::string>>> {
         {FAULTLINE_EXE, {"run", "--help"}}, {FAULTLINE_EXE, {"doctor", "--help"}},
             {FAULTLINE_EXE, {"report", "--help"}},
#if FAULTLINE_HARNESS_BPF
             {FAULTLINE_EXE, {"trace", "--help"}},
#endif
             {FAULTLINE_BENCH_EXE, {"--help"}}, {
           FAULTLINE_GEN_EXE, {
             "--help"
           }
         }
       }) {
    SCOPED_TRACE(exe + " " + args[0]);
    auto r = run(exe, args);
    EXPECT_EQ(r.code, 0);
    EXPECT_THAT(r.out, HasSubstr("-q,--quiet"));
  }
}

}  // namespace
}  // namespace faultline
