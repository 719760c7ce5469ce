#include "common/size.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

TEST(ParseSize, BinaryUnits) {
  EXPECT_EQ(parse_size("64M"), 64u << 20);
  EXPECT_EQ(parse_size("1G"), 1u << 30);
  EXPECT_EQ(parse_size("1.5GiB"), 3u << 29);
  EXPECT_EQ(parse_size("4k"), 4096u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("4096B", false), 4096u);
  EXPECT_EQ(parse_size("2T"), 2ULL << 40);
}

TEST(ParseSize, Rejects) {
  EXPECT_THROW(parse_size("4096", false), std::invalid_argument);
  EXPECT_THROW(parse_size(""), std::invalid_argument);
  EXPECT_THROW(parse_size("M"), std::invalid_argument);
  EXPECT_THROW(parse_size("12Q"), std::invalid_argument);
  EXPECT_THROW(parse_size("1.2.3M"), std::invalid_argument);
  EXPECT_THROW(parse_size("-1M"), std::invalid_argument);
  EXPECT_THROW(parse_size("0.5B"), std::invalid_argument);
  EXPECT_THROW(parse_size("100000E"), std::invalid_argument);
  try {
    parse_size("64", false);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("size without a unit"), std::string::npos);
  }
}

TEST(FormatSize, ShortForms) {
  EXPECT_EQ(format_size(1ULL << 30), "1G");
  EXPECT_EQ(format_size(1536), "1.5K");
  EXPECT_EQ(format_size(100), "100B");
  EXPECT_EQ(format_size(300ULL << 20), "300M");
  EXPECT_EQ(parse_size(format_size(64ULL << 20)), 64ULL << 20);
}

}  // namespace
}  // namespace faultline
