// `faultline report DIR...` and `faultline compare A B`: thin front ends of the
// Python analysis (analysis/, run by Debian's /usr/bin/python3, which has
// python3-matplotlib and python3-scipy). The interpreter is exec'd with an
// argument vector (no shell) and PYTHONPATH set to the faultline source folder:
// FAULTLINE_SOURCE_DIR at build time, FAULTLINE_ANALYSIS_DIR at run time wins.
// FAULTLINE_PYTHON names another interpreter (default /usr/bin/python3).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace faultline {
struct Credentials;
}  // namespace faultline

namespace faultline::harness {

// Registers `report` and `compare`; their callbacks end through
// CLI::RuntimeError with the analysis' exit status (0 done, 2 bad results
// folder, 3 missing interpreter, sources or Python packages).
void add_report_commands(CLI::App& app);

// `faultline run` ends with this: report.md, report.html, plots/ and
// results.csv written into run_dir. Returns the exit status (0 = written);
// errors are printed on stderr.
// `as_user`: run the analysis as this user (under sudo, the run folder is
// theirs), not as root.
int write_report(const std::string& run_dir, bool quiet, const Credentials* as_user = nullptr);

// Runs `python3 -m <module> <args...>` from the analysis folder and waits for
// it; returns its exit status (128 + signal when killed), or 3 with a message
// when the interpreter or the analysis sources are missing.
int run_analysis(const std::string& module, const std::vector<std::string>& args,
                 const Credentials* as_user = nullptr);

}  // namespace faultline::harness
