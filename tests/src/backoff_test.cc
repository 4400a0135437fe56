#include "src/util/backoff.h"

#include <gtest/gtest.h>

#include "policy/naming.h"

namespace partwatch {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheMaximumWithBoundedJitter) {
  Backoff b(milliseconds(100), milliseconds(500), 4);
  const milliseconds expected_base[] = {milliseconds(100), milliseconds(200), milliseconds(400),
                                        milliseconds(500), milliseconds(500)};
  for (const milliseconds base : expected_base) {
    const milliseconds sleep = b.Next();
    EXPECT_GE(sleep, base);
    EXPECT_LE(sleep, base + base / 4);
  }
}

TEST(BackoffTest, WithoutJitterExactlyDoublesAndResetStartsOver) {
  Backoff b(milliseconds(500), milliseconds(10'000), 0);
  EXPECT_EQ(b.Next(), milliseconds(500));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  EXPECT_EQ(b.Next(), milliseconds(2000));
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(500));
  for (int i = 0; i < 10; ++i) b.Next();
  EXPECT_EQ(b.Next(), milliseconds(10'000));
}

TEST(BackoffTest, ZeroDelayStaysZero) {
  Backoff b(milliseconds(0), milliseconds(0), 2);
  EXPECT_EQ(b.Next(), milliseconds(0));
  EXPECT_EQ(b.Next(), milliseconds(0));
}

TEST(SleepUnlessStoppedTest, AStopAlreadySetReturnsFalseWithoutSleeping) {
  std::atomic<bool> stop{true};
  EXPECT_FALSE(SleepUnlessStopped(milliseconds(3'600'000), &stop));
}

TEST(SleepUnlessStoppedTest, WithoutAStopSleepsAndReturnsTrue) {
  EXPECT_TRUE(SleepUnlessStopped(milliseconds(1), nullptr));
  std::atomic<bool> stop{false};
  EXPECT_TRUE(SleepUnlessStopped(milliseconds(0), &stop));
}

// Published FNV-1a test vectors.
TEST(HashTest, Fnv1aMatchesTheReferenceVectors) {
  EXPECT_EQ(policy::Fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(policy::Fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(policy::Fnv1a32("foobar"), 0xbf9cf968u);
  EXPECT_EQ(policy::Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(policy::Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(policy::Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(CutUtf8Test, NeverSplitsACharacter) {
  EXPECT_EQ(policy::CutUtf8("abc", 5), "abc");
  EXPECT_EQ(policy::CutUtf8("abc", 2), "ab");
  EXPECT_EQ(policy::CutUtf8("h\xc3\xa9llo", 2), "h");          // é is 2 bytes
  EXPECT_EQ(policy::CutUtf8("h\xc3\xa9llo", 3), "h\xc3\xa9");  // whole é fits
  EXPECT_EQ(policy::CutUtf8("\xe6\x97\xa5", 2), "");           // 日 is 3 bytes
}

}  // namespace
}  // namespace partwatch
