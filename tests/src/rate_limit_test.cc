// The flood guard's memory (src/executor/rate_limit.h), with explicit times.
#include "src/executor/rate_limit.h"

#include <gtest/gtest.h>

namespace partwatch::executor {
namespace {

using Clock = PartitionRateLimiter::Clock;
using std::chrono::minutes;

TEST(PartitionRateLimiter, CountsPerParentWithinTheLastHour) {
  PartitionRateLimiter limiter;
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(limiter.CreatedInLastHour(1, t0), 0u);
  limiter.RecordCreated(1, t0);
  limiter.RecordCreated(1, t0 + minutes(30));
  limiter.RecordCreated(2, t0 + minutes(30));
  EXPECT_EQ(limiter.CreatedInLastHour(1, t0 + minutes(59)), 2u);
  EXPECT_EQ(limiter.CreatedInLastHour(2, t0 + minutes(59)), 1u);
  EXPECT_EQ(limiter.CreatedInLastHour(3, t0 + minutes(59)), 0u);
}

TEST(PartitionRateLimiter, ForgetsCreationsOlderThanAnHour) {
  PartitionRateLimiter limiter;
  const Clock::time_point t0 = Clock::now();
  limiter.RecordCreated(1, t0);
  limiter.RecordCreated(1, t0 + minutes(30));
  EXPECT_EQ(limiter.CreatedInLastHour(1, t0 + minutes(61)), 1u);
  EXPECT_EQ(limiter.CreatedInLastHour(1, t0 + minutes(91)), 0u);
}

}  // namespace
}  // namespace partwatch::executor
