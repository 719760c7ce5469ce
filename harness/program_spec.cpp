// Not wordexp(3): glibc's refuses unquoted { } (so `{model}` could not be
// written bare), and it expands variables, ~ and globs, which a command that
// must run the same way on every repetition should not depend on.
#include "harness/program_spec.h"

#include <fmt/format.h>

#include <regex>
#include <set>
#include <stdexcept>

#include "benchmarks/strategy.h"
#include "common/process.h"

namespace faultline::harness {
namespace {

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '+' || c == '-';
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!name_char(c)) return false;
  return true;
}

[[noreturn]] void refuse(const std::string& option, const std::string& why) {
  throw std::invalid_argument(fmt::format("{}: {}", option, why));
}

const ProgramCommand& named(const std::vector<ProgramCommand>& programs, const std::string& name,
                            const std::string& option) {
  for (const auto& p : programs)
    if (p.name == name) return p;
  refuse(option, fmt::format("'{}' names no --command", name));
}

}  // namespace

std::vector<std::string> split_command_line(const std::string& text, const std::string& option) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string::npos) refuse(option, "unterminated ' quote in: " + text);
      word += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        char d = text[j];
        if (d == '$' || d == '`')
          refuse(option, fmt::format("'{}' inside \"…\": no variables or command substitution "
                                     "(nothing is expanded; quote it with '…' or \\{})",
                                     d, d));
        if (d == '\\' && j + 1 < text.size() &&
            std::string("\"\\$`").find(text[j + 1]) != std::string::npos)
          d = text[++j];
        word += d;
      }
      if (j >= text.size()) refuse(option, "unterminated \" quote in: " + text);
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) refuse(option, "a trailing \\ escapes nothing");
      word += text[++i];
    } else if (c == '$' || c == '`') {
      refuse(option, fmt::format("'{}': no variables or command substitution (nothing is "
                                 "expanded and no shell runs it; quote it with '…' or \\{})",
                                 c, c));
    } else if (std::string("|&;<>()").find(c) != std::string::npos) {
      refuse(option, fmt::format("'{}': no shell runs the command (no pipes, redirections or "
                                 "lists); quote it with '…' if it is an argument, or wrap a "
                                 "shell script",
                                 c));
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) refuse(option, "empty command");
  return words;
}

std::vector<std::string> with_model(const std::vector<std::string>& argv,
                                    const std::string& model) {
  std::vector<std::string> out;
  const std::string key = kModelPlaceholder;
  for (std::string w : argv) {
    for (auto at = w.find(key); at != std::string::npos; at = w.find(key, at + model.size()))
      w.replace(at, key.size(), model);
    out.push_back(std::move(w));
  }
  return out;
}

std::pair<std::string, std::string> split_named(const std::string& spec,
                                                const std::string& option) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) refuse(option, fmt::format("'{}' is not NAME=COMMAND", spec));
  std::string name = spec.substr(0, eq);
  if (!valid_name(name))
    refuse(option,
           fmt::format("bad NAME '{}' in '{}' (letters, digits and . _ : + - only)", name, spec));
  return {name, spec.substr(eq + 1)};
}

bool is_program_strategy(const std::string& strategy) {
  return strategy.starts_with("cmd:");
}

std::vector<ProgramCommand> resolve_programs(const ProgramRequest& r,
                                             std::map<std::string, std::string>& fidelity) {
  std::vector<ProgramCommand> programs;
  std::set<std::string> names;
  for (const auto& spec : r.commands) {
    auto [name, text] = split_named(spec, "--command");
    if (!names.insert(name).second) refuse("--command", fmt::format("'{}' is given twice", name));
    ProgramCommand p;
    p.name = name;
    p.argv = split_command_line(text, "--command " + name);
    if (find_program(p.argv[0]).empty())
      refuse("--command " + name, fmt::format("program '{}' not found (not in PATH, or not "
                                              "executable)",
                                              p.argv[0]));
    programs.push_back(std::move(p));
  }
  auto find = [&](const std::string& name, const std::string& option) -> ProgramCommand& {
    return const_cast<ProgramCommand&>(named(programs, name, option));
  };
  for (const auto& spec : r.baselines) {
    auto [name, text] = split_named(spec, "--command-baseline");
    auto& p = find(name, "--command-baseline");
    if (!p.baseline.empty()) refuse("--command-baseline", fmt::format("'{}' is given twice", name));
    p.baseline = split_command_line(text, "--command-baseline " + name);
    if (find_program(p.baseline[0]).empty())
      refuse("--command-baseline " + name,
             fmt::format("program '{}' not found (not in PATH, or not executable)", p.baseline[0]));
  }
  std::optional<std::string> ready_for_all;
  for (const auto& spec : r.ready) {
    if (programs.empty()) refuse("--ready", "needs a --command");
    std::string regex = spec;
    ProgramCommand* target = nullptr;
    if (auto eq = spec.find('='); eq != std::string::npos) {
      const std::string name = spec.substr(0, eq);
      if (names.count(name)) {
        target = &find(name, "--ready");
        regex = spec.substr(eq + 1);
      } else if (valid_name(name)) {
        refuse("--ready", fmt::format("'{}' names no --command (a regex for every command that "
                                      "has NAME= in it: write it as (?:{}))",
                                      name, spec));
      }
    }
    try {
      std::regex check(regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      refuse("--ready",
             fmt::format("'{}' is not a regular expression (ECMAScript): {}", regex, e.what()));
    }
    if (target) {
      if (target->ready) refuse("--ready", fmt::format("two for '{}'", target->name));
      target->ready = regex;
    } else {
      if (ready_for_all) refuse("--ready", "two without a NAME= (one regex for every command)");
      ready_for_all = regex;
    }
  }
  for (auto& p : programs)
    if (!p.ready && ready_for_all) p.ready = ready_for_all;
  for (const auto& spec : r.fidelity) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || !spec.starts_with("cmd:"))
      refuse("--fidelity", fmt::format("'{}' is not cmd:NAME=PRESET", spec));
    const std::string name = spec.substr(4, eq - 4);
    named(programs, name, "--fidelity");
    try {
      fidelity["cmd:" + name] = to_string(parse_strategy(spec.substr(eq + 1)));
    } catch (const std::exception& e) {
      refuse("--fidelity", fmt::format("'{}': {}", spec.substr(eq + 1), e.what()));
    }
  }
  return programs;
}

}  // namespace faultline::harness
