#include "harness/report_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "common/credentials.h"
#include "common/process.h"

extern char** environ;

#ifndef FAULTLINE_SOURCE_DIR
#define FAULTLINE_SOURCE_DIR ""
#endif

namespace faultline::harness {
namespace {

constexpr int kMissing = 3;  // the analysis' own "missing dependency" status
constexpr const char* kDefaultPython = "/usr/bin/python3";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The environment of the child: ours, with PYTHONPATH led by the source folder.
std::vector<std::string> child_environment(const std::string& source_dir) {
  std::vector<std::string> env;
  std::string pythonpath = source_dir;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    if (entry.rfind("PYTHONSAFEPATH=", 0) == 0) continue;
    if (entry.rfind("PYTHONPATH=", 0) == 0) {
      std::string old = entry.substr(std::strlen("PYTHONPATH="));
      if (!old.empty()) pythonpath += ":" + old;
      continue;
    }
    env.push_back(std::move(entry));
  }
  env.push_back("PYTHONPATH=" + pythonpath);
  // Python >= 3.11: do not put the current folder first on sys.path, so that an
  // unrelated "analysis" package there cannot shadow ours.
  env.push_back("PYTHONSAFEPATH=1");
  return env;
}

}  // namespace

int run_analysis(const std::string& module, const std::vector<std::string>& args,
                 const Credentials* as_user) {
  const std::string python = env_or("FAULTLINE_PYTHON", kDefaultPython);
  const std::string source_dir = env_or("FAULTLINE_ANALYSIS_DIR", FAULTLINE_SOURCE_DIR);
  if (::access(python.c_str(), X_OK) != 0) {
    fmt::print(stderr,
               "faultline: {} not found or not executable: the reports need Debian's Python "
               "with its plotting and statistics packages (apt install python3 "
               "python3-matplotlib python3-scipy)\n",
               python);
    return kMissing;
  }
  if (source_dir.empty() || !is_file(source_dir + "/analysis/report.py") ||
      !is_file(source_dir + "/results/schema.json")) {
    fmt::print(stderr,
               "faultline: the analysis sources are not in '{}' (no analysis/report.py or "
               "results/schema.json); set "
               "FAULTLINE_ANALYSIS_DIR to the faultline source folder\n",
               source_dir);
    return kMissing;
  }

  SpawnOptions so;
  so.argv = {python, "-m", module};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.env = child_environment(source_dir);
  so.stdin_fd = SpawnOptions::kInherit;
  so.as_user = as_user;
  so.keep_ipc_lock = false;
  // Our process group: a terminal's Ctrl-C reaches the analysis as before.
  so.own_process_group = false;
  std::fflush(stdout);  // what we printed comes before what the report prints
  std::fflush(stderr);
  pid_t pid = 0;
  try {
    pid = spawn(so);
  } catch (const SpawnError& e) {
    fmt::print(stderr, "faultline: cannot start {}: {}\n", python, std::strerror(e.error));
    return kMissing;
  } catch (const std::system_error& e) {
    fmt::print(stderr, "faultline: cannot start {}: {}\n", python, e.code().message());
    return kMissing;
  }
  return wait_child(pid, WaitOptions{}).status_code();
}

int write_report(const std::string& run_dir, bool quiet, const Credentials* as_user) {
  std::vector<std::string> args = {run_dir};
  if (quiet) args.push_back("--quiet");
  return run_analysis("analysis.report", args, as_user);
}

void add_report_commands(CLI::App& app) {
  struct ReportOptions {
    std::vector<std::string> dirs;
    std::string out;
    bool quiet = false;
  };
  auto ro = std::make_shared<ReportOptions>();
  auto* report = app.add_subcommand(
      "report",
      "write report.md, report.html, plots/ and results.csv from results folders (several: "
      "one table, host as a column)");
  report->add_option("dirs", ro->dirs, "results folders written by `faultline run`")
      ->required()
      ->check(CLI::ExistingDirectory);
  report->add_option("--out", ro->out,
                     "output folder (default: the run folder; with several, next to the first)");
  report->add_flag("-q,--quiet", ro->quiet, "print nothing on success");
  report->callback([ro] {
    std::vector<std::string> args = ro->dirs;
    if (!ro->out.empty()) args.insert(args.end(), {"--out", ro->out});
    if (ro->quiet) args.push_back("--quiet");
    throw CLI::RuntimeError(run_analysis("analysis.report", args));
  });

  struct CompareOptions {
    std::string a, b, out;
    bool changes_only = false;
    bool fail_on_regression = false;
  };
  auto co = std::make_shared<CompareOptions>();
  auto* compare = app.add_subcommand(
      "compare",
      "B against A per cell and metric: ratio of medians and a Mann-Whitney U test over the "
      "repetitions; regressions first");
  compare->add_option("A", co->a, "the reference results folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  compare->add_option("B", co->b, "the results folder compared with A")
      ->required()
      ->check(CLI::ExistingDirectory);
  compare->add_flag("--changes-only", co->changes_only, "list only regressions and improvements");
  compare->add_option("--out", co->out, "also write the comparison (Markdown) to this file");
  compare->add_flag("--fail-on-regression", co->fail_on_regression,
                    "exit with status 1 when anything regressed");
  compare->callback([co] {
    std::vector<std::string> args = {co->a, co->b};
    if (co->changes_only) args.push_back("--changes-only");
    if (!co->out.empty()) args.insert(args.end(), {"--out", co->out});
    if (co->fail_on_regression) args.push_back("--fail-on-regression");
    throw CLI::RuntimeError(run_analysis("analysis.compare", args));
  });
}

}  // namespace faultline::harness
