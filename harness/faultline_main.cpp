// faultline: benchmark and trace how model files are loaded. This file only
// dispatches: every subcommand is registered by the folder that owns it.
#include <CLI/CLI.hpp>

#include "common/cli.h"
#include "harness/doctor.h"
#include "harness/report_command.h"
#include "harness/run_command.h"
#if FAULTLINE_HARNESS_BPF
#include "harness/trace_command.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"faultline: measure, trace and explain how Linux loads model files", "faultline"};
  app.require_subcommand(1);
#if FAULTLINE_HARNESS_BPF
  faultline::harness::add_trace_command(app);
#endif
  faultline::harness::add_harness_commands(app);
  faultline::harness::add_report_commands(app);
  faultline::harness::add_doctor_command(app);
  faultline::cli::add_version_flag(app, "faultline");  // after the subcommands: on each of them
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Bad arguments exit 2; subcommands end with their own status (CLI::RuntimeError).
    return faultline::cli::exit_status(app, e);
  }
  return 0;
}
