#include "decoder/lsn.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace partwatch {
namespace {

TEST(LsnTest, FormatsAsPostgresDoes) {
  EXPECT_EQ(Lsn(0x16B3748).ToString(), "0/16B3748");
  EXPECT_EQ(Lsn(0x100000000ULL).ToString(), "1/0");
  EXPECT_EQ(Lsn(0xABCDEF0123456789ULL).ToString(), "ABCDEF01/23456789");
}

TEST(LsnTest, ParsesZero) {
  const auto lsn = Lsn::Parse("0/0");
  ASSERT_TRUE(lsn.has_value());
  EXPECT_EQ(lsn->value(), 0u);
  EXPECT_FALSE(lsn->valid());
  EXPECT_EQ(*lsn, Lsn::Invalid());
}

TEST(LsnTest, ParsesMaximum) {
  const auto lsn = Lsn::Parse("FFFFFFFF/FFFFFFFF");
  ASSERT_TRUE(lsn.has_value());
  EXPECT_EQ(lsn->value(), UINT64_MAX);
  EXPECT_TRUE(lsn->valid());
}

TEST(LsnTest, ParsesLowerCaseAndShortHalves) {
  const auto lsn = Lsn::Parse("a/bc");
  ASSERT_TRUE(lsn.has_value());
  EXPECT_EQ(lsn->value(), 0xA000000BCULL);
  EXPECT_EQ(Lsn::Parse("00000001/0000000A")->value(), 0x10000000AULL);
}

TEST(LsnTest, RoundTrips) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{0x16B3748}, uint64_t{0xFFFFFFFF},
                         uint64_t{0x100000000}, uint64_t{0x123456789ABCDEF0}, UINT64_MAX}) {
    const std::string text = Lsn(value).ToString();
    const auto parsed = Lsn::Parse(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(parsed->value(), value) << text;
    EXPECT_EQ(parsed->ToString(), text);
  }
}

TEST(LsnTest, RejectsMalformedText) {
  for (const char* text : {"", "1", "/1", "1/", "/", "G/1", "1/G", "123456789/0", "0/123456789",
                           "1/2/3", " 1/2", "1/2 ", "-1/2", "+1/2", "0x1/2", "1//2"}) {
    EXPECT_FALSE(Lsn::Parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(LsnTest, OrdersByPosition) {
  EXPECT_LT(Lsn(1), Lsn(2));
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
  EXPECT_EQ(*Lsn::Parse("1/A"), Lsn(0x10000000AULL));
  EXPECT_NE(Lsn(1), Lsn(2));
}

}  // namespace
}  // namespace partwatch
