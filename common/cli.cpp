#include "common/cli.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "common/duration.h"
#include "common/size.h"
#include "common/version.h"

namespace faultline::cli {

void add_version_flag(CLI::App& app, std::string_view program) {
  const std::string line = version_line(program);
  app.set_version_flag("--version", line, "print the version and git commit, then exit");
  for (CLI::App* sub : app.get_subcommands({}))
    sub->set_version_flag("--version", line, "print the version and git commit, then exit");
}

CLI::Validator size() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_size(text, /*allow_plain_bytes=*/false);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "SIZE", "size");
}

CLI::Validator duration() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_duration(text);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "DURATION", "duration");
}

CLI::Validator duration_seconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          text = fmt::format("{}", parse_duration(text).count() / 1e3);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "DURATION", "duration in seconds");
}

int exit_status(const CLI::App& app, const CLI::ParseError& e) {
  const int code = app.exit(e);
  if (code == 0 || e.get_name() == "RuntimeError") return code;
  return kUsageError;
}

}  // namespace faultline::cli
