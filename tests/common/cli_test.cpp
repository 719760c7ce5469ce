// common/cli.h, common/duration.h, common/version.h: what every binary's
// command line shares.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/duration.h"
#include "common/version.h"

namespace faultline {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(Duration, ParsesUnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration("10s"), milliseconds(10000));
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1.5"), milliseconds(1500));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("2min"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("1d"), milliseconds(86400000));
  EXPECT_EQ(parse_duration("365d"), std::chrono::duration_cast<milliseconds>(kMaxDuration));
}

TEST(Duration, RefusesWhatNoClockShouldHold) {
  for (const std::string bad :
       {"inf", "-inf", "nan", "1e30", "1e400", "-1", "-1s", "0", "0s", "0.1ms", "366d", "", "s",
        "soon", "10 s", "10x", "+5", "0x10", "1e-400"}) {
    SCOPED_TRACE(bad);
    try {
      parse_duration(bad);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("invalid duration '" + bad + "'"));
    }
  }
}

TEST(Duration, CheckedSecondsHasTheSameLimits) {
  EXPECT_EQ(checked_seconds(1800, "cell timeout"), 1800);
  for (double bad : {0.0, -1.0, 1e30, 1e300 * 1e300, std::nan("")}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(checked_seconds(bad, "cell timeout"), std::invalid_argument);
  }
}

TEST(Version, LineNamesTheProgramVersionAndCommit) {
  const std::string line = version_line("faultline-x");
  EXPECT_TRUE(std::regex_match(line, std::regex("faultline-x [0-9]+\\.[0-9]+\\.[0-9]+ \\(git "
                                                "([0-9a-f]{7}(-dirty)?|unknown), built "
                                                "[0-9]{4}-[0-9]{2}-[0-9]{2}\\)")))
      << line;
  EXPECT_THAT(line, HasSubstr(std::string(version())));
  EXPECT_FALSE(git_commit().empty());
}

// A small program with every shared piece, parsed as a binary would be.
struct Parsed {
  int code = 0;
  std::string size, duration, error;
  double seconds = 0;
};

Parsed parse(std::vector<std::string> args) {
  CLI::App app{"test", "faultline-test"};
  Parsed p;
  app.add_option("--size", p.size)->check(cli::size());
  app.add_option("--duration", p.duration)->check(cli::duration());
  app.add_option("--timeout", p.seconds)->transform(cli::duration_seconds());
  cli::add_version_flag(app, "faultline-test");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    p.error = e.what();
    p.code = cli::exit_status(app, e);
  }
  return p;
}

TEST(Cli, SizeValidatorNamesTheOption) {
  EXPECT_EQ(parse({"--size", "1.5GiB"}).size, "1.5GiB");
  CLI::App app{"test"};
  std::string size;
  app.add_option("--size", size)->check(cli::size());
  try {
    app.parse(std::vector<std::string>{"12Q", "--size"});
    FAIL() << "accepted";
  } catch (const CLI::ValidationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--size: invalid size '12Q'"));
    EXPECT_EQ(cli::exit_status(app, e), cli::kUsageError);
  }
}

TEST(Cli, DurationSecondsTransform) {
  EXPECT_EQ(parse({"--timeout", "30m"}).seconds, 1800);
  EXPECT_EQ(parse({"--timeout", "250ms"}).seconds, 0.25);
  const auto inf = parse({"--timeout", "inf"});
  EXPECT_EQ(inf.code, cli::kUsageError);
  EXPECT_THAT(inf.error, HasSubstr("--timeout: invalid duration 'inf'"));
  EXPECT_EQ(parse({"--duration", "1e30"}).code, cli::kUsageError);
  EXPECT_EQ(parse({"--duration", "10s"}).duration, "10s");
}

TEST(Cli, VersionExitsZero) {
  EXPECT_EQ(parse({"--version"}).code, 0);
}

}  // namespace
}  // namespace faultline
