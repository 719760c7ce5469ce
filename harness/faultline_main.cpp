// faultline: benchmark and trace how model files are loaded. This file only
// dispatches: every subcommand is registered by the folder that owns it.
#include <CLI/CLI.hpp>

#include "common/cli.h"
#include "harness/doctor.h"
#include "harness/report_command.h"
#include "harness/run_command.h"
#if FAULTLINE_HARNESS_BPF
#include "harness/trace_command.h"
#else
#include <fmt/format.h>

#include "common/availability.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"faultline: measure, trace and explain how Linux loads model files", "faultline"};
  app.require_subcommand(1);
#if FAULTLINE_HARNESS_BPF
  faultline::harness::add_trace_command(app);
#else
  // Listed, so that `faultline trace` says why it cannot run.
  auto* trace = app.add_subcommand("trace", "trace a program's model loading (not in this build)");
  static std::vector<std::string> command;
  trace->add_option("command", command, "the command it would trace");
  trace->allow_extras();
  trace->callback([] {
    fmt::print(stderr, "faultline trace: tracing unavailable: {}\n", faultline::kBuiltWithoutBpf);
    throw CLI::RuntimeError(1);
  });
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
