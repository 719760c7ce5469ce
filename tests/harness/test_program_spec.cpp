// --command and its companions, before anything runs: splitting (quotes, a
// {model} path with blanks, no shell and no expansion), the checks of
// resolve_programs, the plan's program cells, plan.json and plan files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/plan.h"
#include "harness/program_spec.h"

namespace faultline::harness {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

std::string error_of(const std::string& text) {
  try {
    split_command_line(text, "--command x");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(SplitCommandLine, QuotesAndEscapesAsAShellWould) {
  EXPECT_EQ(split_command_line("node  load.mjs {model} --mode mmap", "o"),
            (Words{"node", "load.mjs", "{model}", "--mode", "mmap"}));
  EXPECT_EQ(split_command_line("a 'b c' \"d e\" f\\ g '' h", "o"),
            (Words{"a", "b c", "d e", "f g", "", "h"}));
  EXPECT_EQ(split_command_line(R"(p "say \"hi\" \\ \$x" 'it''s' a"b"'c')", "o"),
            (Words{"p", R"(say "hi" \ $x)", "its", "abc"}));
  // Single quotes keep everything, $ and ` included (nothing is expanded).
  EXPECT_EQ(split_command_line("p '$(id)' '`id`' '$HOME'", "o"),
            (Words{"p", "$(id)", "`id`", "$HOME"}));
}

TEST(SplitCommandLine, ModelPathWithBlanksStaysOneArgument) {
  auto argv = split_command_line("prog -m {model} --x={model}.log", "o");
  EXPECT_THAT(
      with_model(argv, "/tmp/my models/m 1.gguf"),
      ElementsAre("prog", "-m", "/tmp/my models/m 1.gguf", "--x=/tmp/my models/m 1.gguf.log"));
  // A model path that itself holds "{model}" is not replaced again.
  EXPECT_THAT(with_model({"{model}"}, "/a/{model}"), ElementsAre("/a/{model}"));
}

TEST(SplitCommandLine, RefusesSubstitutionShellSyntaxAndBadQuoting) {
  EXPECT_THAT(error_of("echo $(id)"), HasSubstr("no variables or command substitution"));
  EXPECT_THAT(error_of("echo `id`"), HasSubstr("no variables or command substitution"));
  EXPECT_THAT(error_of("echo \"$(id)\""), HasSubstr("no variables or command substitution"));
  EXPECT_THAT(error_of("echo \"`id`\""), HasSubstr("no variables or command substitution"));
  EXPECT_THAT(error_of("echo $HOME"), HasSubstr("no variables"));
  EXPECT_THAT(error_of("a | b"), HasSubstr("no shell runs the command"));
  EXPECT_THAT(error_of("a > f"), HasSubstr("no shell runs the command"));
  EXPECT_THAT(error_of("a; b"), HasSubstr("no shell runs the command"));
  EXPECT_THAT(error_of("a 'b"), HasSubstr("unterminated ' quote"));
  EXPECT_THAT(error_of("a \"b"), HasSubstr("unterminated \" quote"));
  EXPECT_THAT(error_of("a \\"), HasSubstr("trailing"));
  EXPECT_THAT(error_of("   "), HasSubstr("empty command"));
  EXPECT_THAT(error_of("echo $(id)"), HasSubstr("--command x: "));
}

std::string resolve_error(const ProgramRequest& r) {
  std::map<std::string, std::string> fidelity;
  try {
    resolve_programs(r, fidelity);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ResolvePrograms, ChecksNamesProgramsRegexesAndReferences) {
  EXPECT_THAT(resolve_error({{"bad name=ls"}}), HasSubstr("--command: bad NAME 'bad name'"));
  EXPECT_THAT(resolve_error({{"ls"}}), HasSubstr("is not NAME=COMMAND"));
  EXPECT_THAT(resolve_error({{"x="}}), HasSubstr("--command x: empty command"));
  EXPECT_THAT(resolve_error({{"x=no-such-program-here {model}"}}),
              HasSubstr("--command x: program 'no-such-program-here' not found"));
  EXPECT_THAT(resolve_error({{"x=ls", "x=ls"}}), HasSubstr("given twice"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {}, {"(("}}), HasSubstr("--ready: '((' is not a regular"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {}, {"y=ready"}}), HasSubstr("'y' names no --command"));
  EXPECT_THAT(resolve_error({{}, {}, {"ready"}}), HasSubstr("--ready: needs a --command"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {"y=ls"}}),
              HasSubstr("--command-baseline: 'y' names no --command"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {}, {}, {"cmd:y=llama.cpp"}}),
              HasSubstr("--fidelity: 'y' names no --command"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {}, {}, {"x=llama.cpp"}}), HasSubstr("not cmd:NAME=PRESET"));
  EXPECT_THAT(resolve_error({{"x=ls"}, {}, {}, {"cmd:x=nonsense"}}),
              HasSubstr("--fidelity: 'nonsense'"));
}

TEST(ResolvePrograms, ReadyPerCommandOrForAllAndFidelityCanonical) {
  std::map<std::string, std::string> fidelity;
  auto p = resolve_programs({{"a=ls {model}", "b.2=ls"},
                             {"a=ls -l {model}"},
                             {"a=^ready", "^up"},
                             {"cmd:a=llama.cpp", "cmd:b.2=mmap:private,advise=random"}},
                            fidelity);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].strategy(), "cmd:a");
  EXPECT_EQ(p[0].ready, "^ready");
  EXPECT_EQ(p[1].ready, "^up");
  EXPECT_THAT(p[0].baseline, ElementsAre("ls", "-l", "{model}"));
  EXPECT_TRUE(p[1].baseline.empty());
  EXPECT_EQ(fidelity.at("cmd:a"), "llama.cpp");
  EXPECT_EQ(fidelity.at("cmd:b.2"), "mmap:private,advise=random");
}

PlanRequest request_with_programs() {
  PlanRequest r;
  r.strategies = "read";
  r.patterns = "none";
  r.caches = "cold,warm";
  r.reps = 2;
  r.traced_reps = 1;
  r.programs = {{"p=ls {model}"}, {"p=ls {model}"}, {"^x"}, {"cmd:p=llama.cpp"}};
  return r;
}

TEST(PlanPrograms, CellsPerCacheAndRepAfterTheStrategiesAndPlanJsonRoundTrips) {
  Plan plan = resolve_plan(request_with_programs(), 1);
  plan.model = "/m.gguf";
  plan.commands[0].baseline_model = "/cache/baseline.gguf";
  auto cells = plan.cells();
  ASSERT_EQ(cells.size(), 3u * (2 + 2 + 2));  // reps × (read + program + baseline) × caches
  EXPECT_EQ(cells[2].name(), "load/cmd:p/program/cold");
  EXPECT_EQ(cells[5].name(), "load/cmd:p/baseline/warm");
  EXPECT_FALSE(cells[5].traced);
  EXPECT_TRUE(cells.back().traced);
  auto j = to_json(plan);
  ASSERT_EQ(j["commands"].size(), 1u);
  EXPECT_EQ(j["commands"][0]["argv"], nlohmann::json({"ls", "/m.gguf"}));
  EXPECT_EQ(j["commands"][0]["ready"], "^x");
  EXPECT_EQ(j["commands"][0]["baseline"]["model"], "/cache/baseline.gguf");
  EXPECT_EQ(j["commands"][0]["baseline"]["argv"], nlohmann::json({"ls", "/cache/baseline.gguf"}));
  EXPECT_EQ(j["fidelity"], nlohmann::json({{"cmd:p", "llama.cpp"}}));
  Plan back = plan_from_json(j);
  ASSERT_EQ(back.commands.size(), 1u);
  EXPECT_EQ(back.commands[0].argv, plan.commands[0].argv);
  EXPECT_EQ(back.commands[0].baseline_model, "/cache/baseline.gguf");
  EXPECT_EQ(back.cells().size(), cells.size());
  EXPECT_EQ(back.fidelity, plan.fidelity);
}

std::string plan_file_error(const std::string& text) {
  const std::string path = ::testing::TempDir() + "/program-plan.json";
  std::ofstream(path) << text;
  PlanRequest r;
  try {
    r.merge_plan_file(path);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(PlanFilePrograms, TakesTheFlagsValuesAndChecksThem) {
  const std::string path = ::testing::TempDir() + "/program-plan-ok.json";
  std::ofstream(path) << R"({"commands": ["p=ls '{model}'"], "ready": "^ok",
                             "command_baselines": ["p=ls {model}"], "fidelity": ["cmd:p=read"]})";
  PlanRequest r;
  r.merge_plan_file(path);
  EXPECT_THAT(r.programs.commands, ElementsAre("p=ls '{model}'"));
  EXPECT_THAT(r.programs.ready, ElementsAre("^ok"));
  EXPECT_THAT(r.programs.baselines, ElementsAre("p=ls {model}"));
  EXPECT_THAT(r.programs.fidelity, ElementsAre("cmd:p=read"));

  EXPECT_THAT(plan_file_error(R"({"commands": "p=ls"})"), HasSubstr("not a list of strings"));
  EXPECT_THAT(plan_file_error(R"({"commands": [7]})"), HasSubstr("holds 7, not a string"));
  EXPECT_THAT(plan_file_error(R"x({"commands": ["p=echo $(id)"]})x"),
              HasSubstr("no variables or command substitution"));
  EXPECT_THAT(plan_file_error(R"({"commands": ["no name"]})"), HasSubstr("\"commands\""));
  EXPECT_THAT(plan_file_error(R"({"fidelity": ["cmd:p=bogus:x"]})"), HasSubstr("\"fidelity\""));
  EXPECT_THAT(plan_file_error(R"({"ready": [true]})"), HasSubstr("not a string"));
}

}  // namespace
}  // namespace faultline::harness
