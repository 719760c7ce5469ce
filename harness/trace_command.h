// `faultline trace`: attach the eBPF Tracer (bpf/tracer.h) to a command, to
// running processes or to the whole system, and print what happened when it
// ends (bpf/trace_summary.h). Under sudo the command runs as the invoking
// user (common/credentials.h) and only the tracer stays root; --as-root
// runs it as root.
//
//   sudo faultline trace --file model.gguf -- ./llama-cli -m model.gguf -p hi -n 1
//   sudo faultline trace -p 4242 --duration 10s --json trace.json
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace faultline::harness {

struct TraceOptions {
  std::vector<std::string> files;
  std::vector<int> pids;
  std::string duration;  // "10s", "500ms", "2m"; "" = until the command ends / Ctrl-C
  std::string json_path;
  std::string record_path;  // --record FILE: the access sequence of the one --file
  bool timeline = false;
  std::size_t timeline_mib = 16;
  int rss_interval_ms = 100;
  bool as_root = false;              // under sudo: run the command as root, not as the user
  bool quiet = false;                // -q: no summary on stderr (with --json)
  std::vector<std::string> command;  // after "--"
};

// Registers the `trace` subcommand. Its callback runs the trace and ends the
// program through CLI::RuntimeError carrying the exit code (0 on success,
// the command's own status when it ran, 1 on errors, 127 when the command
// cannot be run).
void add_trace_command(CLI::App& app);

// The same, callable directly (tests, other front ends). Prints to stderr.
int run_trace(const TraceOptions& options);

// common/duration.h's parse_duration (bare number = seconds); nullopt if bad.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace faultline::harness
