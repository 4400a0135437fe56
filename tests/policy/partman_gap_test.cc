#include "policy/partman_gap.h"

#include <gtest/gtest.h>

namespace partwatch::policy {
namespace {

Bucketer Daily(std::vector<std::string> bounds) {
  Result<Bucketer> b = Bucketer::Make(RangeKeyType::kDate, RangeInterval{.days = 1}, std::nullopt,
                                      std::move(bounds));
  if (!b.ok()) ADD_FAILURE() << b.error().message;
  return std::move(b).value();
}

std::vector<std::string> Texts(const PartmanGapResult& gap) {
  std::vector<std::string> out;
  for (const KeyValue& v : gap.buckets) out.push_back(*v.text);
  return out;
}

// pg_partman's newest child is 2026-12-02; a row for 2026-12-05 arrives.
TEST(PartmanGapTest, TheDaysBetweenTheNewestChildAndTheBucketOldestFirst) {
  const Bucketer b = Daily({"FOR VALUES FROM ('2026-12-02') TO ('2026-12-03')"});
  const int64_t newest_end = *b.ParsePoint("2026-12-03");
  const PartmanGapResult gap = PartmanGap(b, newest_end, KeyValue::Of("2026-12-05"), 1000);
  EXPECT_EQ(Texts(gap), (std::vector<std::string>{"2026-12-03", "2026-12-04"}));
  EXPECT_FALSE(gap.truncated);
}

TEST(PartmanGapTest, NoGapForTheNextBucketOrOneBeforeTheNewestChild) {
  const Bucketer b = Daily({"FOR VALUES FROM ('2026-12-02') TO ('2026-12-03')"});
  const int64_t newest_end = *b.ParsePoint("2026-12-03");
  EXPECT_TRUE(PartmanGap(b, newest_end, KeyValue::Of("2026-12-03"), 1000).buckets.empty());
  EXPECT_TRUE(PartmanGap(b, newest_end, KeyValue::Of("2026-11-20"), 1000).buckets.empty());
  EXPECT_TRUE(PartmanGap(b, newest_end, KeyValue::Null(), 1000).buckets.empty());
  EXPECT_TRUE(PartmanGap(b, newest_end, KeyValue::Of("not a date"), 1000).buckets.empty());
}

TEST(PartmanGapTest, AtMostMaxBucketsAndSaysSo) {
  const Bucketer b = Daily({"FOR VALUES FROM ('2026-12-02') TO ('2026-12-03')"});
  const int64_t newest_end = *b.ParsePoint("2026-12-03");
  const PartmanGapResult gap = PartmanGap(b, newest_end, KeyValue::Of("2027-12-03"), 3);
  EXPECT_EQ(Texts(gap), (std::vector<std::string>{"2026-12-03", "2026-12-04", "2026-12-05"}));
  EXPECT_TRUE(gap.truncated);
}

}  // namespace
}  // namespace partwatch::policy
