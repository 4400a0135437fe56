#include "src/pg/pieces.h"

#include <gtest/gtest.h>

namespace partwatch::pg {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(PieceSizerTest, GrowsTowardsTheTargetAtMostFourTimesPerStep) {
  PieceSizer s(10, milliseconds(50));
  s.Took(milliseconds(1));  // 50x too fast: grow, but only 4x
  EXPECT_EQ(s.pages(), 40);
  s.Took(milliseconds(25));  // half the target: double
  EXPECT_EQ(s.pages(), 80);
}

TEST(PieceSizerTest, ShrinksAtMostEightTimesPerStepNeverBelowOnePage) {
  PieceSizer s(800, milliseconds(50));
  s.Took(milliseconds(5000));
  EXPECT_EQ(s.pages(), 100);
  PieceSizer one(1, milliseconds(50));
  one.Took(milliseconds(5000));
  EXPECT_EQ(one.pages(), 1);
}

TEST(PieceSizerTest, RespectsTheCap) {
  PieceSizer s(500, milliseconds(50), 64);
  EXPECT_EQ(s.pages(), 64);
  s.Took(microseconds(1));
  EXPECT_EQ(s.pages(), 64);
}

TEST(PieceSizerTest, HalvesUntilOnePage) {
  PieceSizer s(5, milliseconds(50));
  EXPECT_TRUE(s.Halve());
  EXPECT_EQ(s.pages(), 2);
  EXPECT_TRUE(s.Halve());
  EXPECT_EQ(s.pages(), 1);
  EXPECT_FALSE(s.Halve());
  EXPECT_EQ(s.pages(), 1);
}

TEST(TimeoutLiteralTest, NeverZeroWhichWouldDisableTheTimeout) {
  EXPECT_EQ(TimeoutLiteral(milliseconds(0)), "'1ms'");
  EXPECT_EQ(TimeoutLiteral(milliseconds(-5)), "'1ms'");
  EXPECT_EQ(TimeoutLiteral(milliseconds(200)), "'200ms'");
}

}  // namespace
}  // namespace partwatch::pg
