#include "policy/move_cost.h"

#include <gtest/gtest.h>

namespace partwatch::policy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int64_t kMiB = int64_t{1} << 20;

TEST(MoveCostModelTest, EstimateGrowsWithRowsAndDefaultSize) {
  const MoveCostModel m(5'000, 4.0, 12.0);
  EXPECT_DOUBLE_EQ(m.EstimateMicros(0, 0), 5'000);
  EXPECT_DOUBLE_EQ(m.EstimateMicros(100, 0), 5'000 + 1'200);
  EXPECT_DOUBLE_EQ(m.EstimateMicros(0, kMiB), 5'000 + 4.0 * 1024);
}

TEST(MoveCostModelTest, TheDemosMoveFitsAndTheIssuesBigCommitsDoNot) {
  const MoveCostModel m;
  const microseconds budget = milliseconds(190);
  EXPECT_TRUE(m.Fits(101, 64 * 1024, budget));       // 101 rows, a small DEFAULT
  EXPECT_FALSE(m.Fits(400'000, 30 * kMiB, budget));  // 575 ms measured before
  EXPECT_FALSE(m.Fits(850'000, 63 * kMiB, budget));  // 1,044 ms measured before
  EXPECT_FALSE(m.Fits(101, 60 * kMiB, budget));      // few rows, a DEFAULT to scan twice
}

TEST(MoveCostModelTest, FitsKeepsASafetyMargin) {
  const MoveCostModel m(100'000, 0, 0);  // 100 ms, whatever the move
  EXPECT_TRUE(m.Fits(1, 1, milliseconds(125)));
  EXPECT_FALSE(m.Fits(1, 1, milliseconds(124)));
}

TEST(MoveCostModelTest, ObservedSlowMovesRaiseTheEstimate) {
  MoveCostModel m(10'000, 0, 0);
  m.Observe(1, 1, milliseconds(30));  // three times the model
  EXPECT_DOUBLE_EQ(m.correction(), 2.0);
  EXPECT_DOUBLE_EQ(m.EstimateMicros(1, 1), 20'000);
  m.Observe(1, 1, milliseconds(30));
  EXPECT_DOUBLE_EQ(m.correction(), 2.5);
}

TEST(MoveCostModelTest, FastMovesLowerItButNotBelowHalf) {
  MoveCostModel m(10'000, 0, 0);
  for (int i = 0; i < 20; ++i) m.Observe(1, 1, microseconds(10));
  EXPECT_DOUBLE_EQ(m.correction(), 0.5);
}

TEST(MoveCostModelTest, ACancelledMoveMakesTheSameMoveNoLongerFit) {
  MoveCostModel m(5'000, 0, 12.0);
  const microseconds budget = milliseconds(190);
  ASSERT_TRUE(m.Fits(600, 0, budget));
  m.ObserveCancelled(600, 0, budget);
  EXPECT_FALSE(m.Fits(600, 0, budget));
  EXPECT_LE(m.correction(), 50.0);
}

TEST(MoveCostModelTest, CorrectionIsCapped) {
  MoveCostModel m(1'000, 0, 0);
  m.ObserveCancelled(1, 1, std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(m.correction(), 50.0);
}

}  // namespace
}  // namespace partwatch::policy
