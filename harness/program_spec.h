// Programs as cells: `--command 'NAME=PROGRAM ARG… {model} …'` split into an
// argument vector (shell-like quoting, never a shell), its `--ready` regex,
// its `--command-baseline` and `--fidelity cmd:NAME=PRESET`. Everything is
// checked here, before anything runs; errors are std::invalid_argument
// naming the option.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline::harness {

inline constexpr const char* kModelPlaceholder = "{model}";
inline constexpr const char* kProgramPattern = "program";    // pattern of a --command cell
inline constexpr const char* kBaselinePattern = "baseline";  // of its --command-baseline cell

// A program the matrix runs as cells `cmd:NAME`.
struct ProgramCommand {
  std::string name;                   // [A-Za-z0-9._:+-]+
  std::vector<std::string> argv;      // as split, "{model}" kept
  std::optional<std::string> ready;   // ECMAScript regex; nullopt: ready = exit
  std::vector<std::string> baseline;  // --command-baseline's argv ("{model}" kept); empty: none
  std::string baseline_model;         // the tiny model it runs on (set once generated)

  std::string strategy() const { return "cmd:" + name; }
};

// Splits a command line into words: blanks separate, '…' is literal, "…"
// keeps blanks and takes \" \\ \$ \` as escapes, \x outside quotes is x.
// Refused (std::invalid_argument, prefixed by `option`): an unterminated
// quote, $ and ` outside single quotes (no variables, no command
// substitution: nothing is expanded), unquoted | & ; < > ( ) (no shell
// runs it), and an empty command.
std::vector<std::string> split_command_line(const std::string& text, const std::string& option);

// Every "{model}" in every word replaced by `model` (after splitting: a path
// with blanks stays one argument).
std::vector<std::string> with_model(const std::vector<std::string>& argv, const std::string& model);

// "NAME=COMMAND" → {NAME, COMMAND}; the NAME checked.
std::pair<std::string, std::string> split_named(const std::string& spec, const std::string& option);

// What the flags (or a plan file) gave, as text.
struct ProgramRequest {
  std::vector<std::string> commands;   // --command
  std::vector<std::string> baselines;  // --command-baseline
  std::vector<std::string> ready;      // --ready ('NAME=REGEX' or a bare REGEX)
  std::vector<std::string> fidelity;   // --fidelity cmd:NAME=PRESET
};

// Parses and checks it all: NAME syntax and uniqueness, the program found in
// PATH, regexes that compile, baselines and fidelity naming a --command,
// presets that parse (stored canonical). Throws std::invalid_argument naming
// the option.
std::vector<ProgramCommand> resolve_programs(const ProgramRequest& request,
                                             std::map<std::string, std::string>& fidelity);

// True for a strategy "cmd:NAME".
bool is_program_strategy(const std::string& strategy);

}  // namespace faultline::harness
