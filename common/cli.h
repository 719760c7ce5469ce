// What every binary's command line shares (CLI11): --version, sizes and
// durations checked by CLI11 itself, so that a bad value is refused while
// parsing with a message naming the option ("--cell-timeout: invalid
// duration 'inf': ..."), and one exit status for bad arguments (2).
#pragma once

#include <string_view>

#include <CLI/CLI.hpp>

namespace faultline::cli {

inline constexpr int kUsageError = 2;

// --version on `app` and on each of its subcommands: prints
// version_line(program) (common/version.h) and exits 0.
void add_version_flag(CLI::App& app, std::string_view program);

// Checks a size ("64M", "1G", "1.5GiB", "4096B"; a unit is required) with
// common/size.h's parser; the option keeps the text.
CLI::Validator size();

// Checks a duration (common/duration.h: "10s", "500ms", "2m"; bare number =
// seconds); the option keeps the text.
CLI::Validator duration();

// Turns a duration into its number of seconds ("30m" -> "1800"), for an
// option stored in a double of seconds: "inf", "1e30", "-1" and "nan" are
// refused before the number is converted.
CLI::Validator duration_seconds();

// The exit status of a parse error after printing it as CLI11 does: 0 for
// --help and --version, a CLI::RuntimeError's own code (subcommands end
// that way), kUsageError for everything else.
int exit_status(const CLI::App& app, const CLI::ParseError& e);

}  // namespace faultline::cli
