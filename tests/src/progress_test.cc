// The drain's progress line: pure functions.
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

}  // namespace
}  // namespace partwatch::drain
