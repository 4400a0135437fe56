// The drain's progress line and scratch names: pure functions.
#include "src/drain/progress.h"

#include <gtest/gtest.h>

namespace partwatch::drain {
namespace {

using std::chrono::seconds;

Progress Copying(int64_t copied, int64_t total, seconds elapsed) {
  Progress p;
  p.phase = "copy";
  p.rows_copied = copied;
  p.rows_total = total;
  p.elapsed = elapsed;
  return p;
}

TEST(ProgressLine, WideTerminalShowsBarCountsRateAndTimeLeft) {
  EXPECT_EQ(FormatProgressLine(Copying(420000, 1000000, seconds(2)), 100),
            "copy  42% [############..................] 420000/1000000 rows  210k rows/s  3s left");
}

TEST(ProgressLine, BarShrinksWithTheWidth) {
  const std::string line = FormatProgressLine(Copying(500000, 1000000, seconds(5)), 70);
  EXPECT_LE(line.size(), 70u);
  EXPECT_EQ(line, "copy  50% [########........] 500000/1000000 rows  100k rows/s  5s left");
}

TEST(ProgressLine, NarrowWidthsDropBarThenTimeThenRate) {
  const Progress p = Copying(500000, 1000000, seconds(5));
  EXPECT_EQ(FormatProgressLine(p, 52), "copy  50%  500000/1000000 rows  100k rows/s  5s left");
  EXPECT_EQ(FormatProgressLine(p, 51), "copy  50%  500000/1000000 rows  100k rows/s");
  EXPECT_EQ(FormatProgressLine(p, 44), "copy  50%  500000/1000000 rows  100k rows/s");
  EXPECT_EQ(FormatProgressLine(p, 30), "copy  50%  500000/1000000 rows");
  EXPECT_EQ(FormatProgressLine(p, 6), "copy  ");
}

TEST(ProgressLine, ZeroWidthMeansNoLimit) {
  const std::string line = FormatProgressLine(Copying(1, 3, seconds(1)), 0);
  EXPECT_EQ(line, "copy  33% [##########....................] 1/3 rows  1 rows/s  2s left");
}

TEST(ProgressLine, StartOfCopyHasNoRateAndNoEstimate) {
  EXPECT_EQ(FormatProgressLine(Copying(0, 1000, seconds(0)), 0),
            "copy   0% [..............................] 0/1000 rows  0 rows/s");
}

TEST(ProgressLine, EmptyDefaultIsDone) {
  EXPECT_EQ(FormatProgressLine(Copying(0, 0, seconds(1)), 0),
            "copy 100% [##############################] 0/0 rows  0 rows/s");
}

TEST(ProgressLine, LongEstimatesUseMinutesAndHours) {
  EXPECT_NE(FormatProgressLine(Copying(1000, 1000000, seconds(1)), 0).find("16m39s left"),
            std::string::npos);
  EXPECT_NE(FormatProgressLine(Copying(1000, 100000000, seconds(1)), 0).find("27h46m left"),
            std::string::npos);
}

TEST(ProgressLine, OtherPhasesNamePendingChanges) {
  Progress p;
  p.phase = "replay";
  p.rows_copied = 1000;
  p.rows_total = 1000;
  p.log_rows_pending = 42;
  p.replayed = 7;
  p.elapsed = seconds(65);
  EXPECT_EQ(FormatProgressLine(p, 0),
            "replay: 1000/1000 rows copied, 42 change(s) pending, 7 replayed (1m05s)");
  p.phase = "prepare";
  p.rows_copied = p.rows_total = 0;
  p.log_rows_pending = -1;
  p.replayed = 0;
  EXPECT_EQ(FormatProgressLine(p, 0), "prepare (1m05s)");
  EXPECT_EQ(FormatProgressLine(p, 4), "prep");
}

TEST(HumanCount, ThreeSignificantFigures) {
  EXPECT_EQ(HumanCount(0), "0");
  EXPECT_EQ(HumanCount(999), "999");
  EXPECT_EQ(HumanCount(1000), "1.00k");
  EXPECT_EQ(HumanCount(12345), "12.3k");
  EXPECT_EQ(HumanCount(999499), "999k");
  EXPECT_EQ(HumanCount(999500), "1.00M");
  EXPECT_EQ(HumanCount(2500000000), "2.50G");
  EXPECT_EQ(HumanCount(-1500), "-1.50k");
}

TEST(ProgressPrinter, RedrawsOneLineOnATerminal) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  ASSERT_NE(out, nullptr);
  {
    ProgressPrinter printer(/*tty=*/true, out, 60);
    printer.Update(Copying(1, 2, seconds(1)));
    printer.Update(Copying(2, 2, seconds(2)));
    printer.Finish();
    printer.Finish();  // once only
  }
  std::fclose(out);
  const std::string s(buf, len);
  std::free(buf);
  EXPECT_EQ(s.find('\n'), s.size() - 1) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 2) << s;
  EXPECT_NE(s.find("copy 100%"), std::string::npos) << s;
}

TEST(ScratchName, AppendsTheSuffixWhenItFits) {
  EXPECT_EQ(ScratchName("orders_other", "_pwd_stage"), "orders_other_pwd_stage");
  EXPECT_EQ(ScratchName(std::string(53, 'a'), "_pwd_stage"), std::string(53, 'a') + "_pwd_stage");
}

TEST(ScratchName, LongNamesAreCutAndHashedWithinSixtyThreeBytes) {
  const std::string a = std::string(60, 'a') + "x";
  const std::string b = std::string(60, 'a') + "y";
  const std::string sa = ScratchName(a, "_pwd_stage");
  const std::string sb = ScratchName(b, "_pwd_stage");
  EXPECT_LE(sa.size(), 63u);
  EXPECT_NE(sa, sb);                            // same prefix, different hash
  EXPECT_EQ(sa, ScratchName(a, "_pwd_stage"));  // deterministic: a rerun finds it
  EXPECT_EQ(sa.substr(sa.size() - 10), "_pwd_stage");
}

TEST(ScratchName, NeverSplitsAUtf8Character) {
  // 'é' is two bytes; a cut through one would leave an invalid name.
  std::string name;
  while (name.size() < 62) name += "\xc3\xa9";
  const std::string s = ScratchName(name, "_pwd_capture");
  EXPECT_LE(s.size(), 63u);
  const std::string prefix = s.substr(0, s.size() - std::string("_pwd_capture").size() - 9);
  EXPECT_EQ(prefix.size() % 2, 0u) << s;
  for (size_t i = 0; i < prefix.size(); i += 2) EXPECT_EQ(prefix.substr(i, 2), "\xc3\xa9");
}

// The expected names were produced by the implementation before it used
// policy::Fnv1a32 and policy::CutUtf8: a drain interrupted by the old binary must be
// cleaned up by the new one, so these must never change.
TEST(ScratchName, ASixtyThreeByteDefaultNameIsCutAndHashedStably) {
  const std::string def = "orders_default_partition_for_everything_that_matched_no_other_x";
  ASSERT_EQ(def.size(), 63u);
  EXPECT_EQ(ScratchName(def, "_pwd_stage"),
            "orders_default_partition_for_everything_that_4abfea94_pwd_stage");
  EXPECT_EQ(ScratchName(def, "_pwd_capture"),
            "orders_default_partition_for_everything_th_4abfea94_pwd_capture");
  for (const std::string suffix :
       {"_pwd_stage", "_pwd_log", "_pwd_new", "_pwd_old", "_pwd_capture", "_pwd_replay"}) {
    const std::string name = ScratchName(def, suffix);
    EXPECT_EQ(name.size(), 63u) << name;
    EXPECT_NE(name.find("_4abfea94" + suffix), std::string::npos) << name;
  }
}

TEST(ScratchName, AMultiByteCutStaysStable) {
  std::string def;
  while (def.size() < 62) def += "\xc3\xa9";
  def += "z";
  std::string expected;
  for (int i = 0; i < 21; ++i) expected += "\xc3\xa9";
  EXPECT_EQ(ScratchName(def, "_pwd_replay"), expected + "_89392019_pwd_replay");
}

}  // namespace
}  // namespace partwatch::drain
