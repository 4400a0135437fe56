// The replay report's renderers (src/replay/render_*.cc): JSON parses back
// with the documented keys, CSV quotes hostile values so they parse back,
// the text report says what each threshold would have done and cannot be
// forged by a value, the HTML page escapes everything from the data and
// refers to nothing outside itself, whatever the report's shape.
#include <gtest/gtest.h>

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/replay/render_util.h"
#include "src/replay/report.h"

namespace partwatch::replay {
namespace {

using policy::KeyValue;

constexpr int64_t kT0 = 849'531'600'000'000;  // 2026-12-02T13:00:00Z
constexpr int64_t kMinute = 60'000'000;

Crossing Cross(int64_t threshold, int64_t rows, uint64_t lsn, std::optional<int64_t> time,
               DecisionKind decision, size_t scenario = 0) {
  Crossing c;
  c.scenario = scenario;
  c.threshold = threshold;
  c.rows = rows;
  c.lsn = Lsn(lsn);
  c.time = time;
  c.decision = decision;
  return c;
}

ValueReport Value(KeyValue v, int64_t rows, std::vector<Crossing> crossings) {
  ValueReport r;
  r.value = std::move(v);
  r.rows = rows;
  r.first_time = kT0 + kMinute;
  r.last_time = kT0 + 90 * kMinute;
  r.crossings = std::move(crossings);
  return r;
}

// One LIST table, two scenarios (100 and 1000); 'returned' crosses both,
// NULL only the first, 'late' neither.
Report Sample() {
  Report r;
  SourceReport s;
  s.name = "/var/lib/partwatch/capture";
  s.kind = "capture";
  s.records = 12'345;
  s.skipped = 2;
  s.warnings = {"torn tail at byte 4096"};
  r.sources.push_back(s);
  r.first_lsn = Lsn(0x16B2D48);
  r.last_lsn = Lsn(0x1A00000);
  r.first_time = kT0;
  r.last_time = kT0 + 180 * kMinute;
  r.transactions = 4321;

  TableReport t;
  t.name = "public.orders";
  t.strategy = "list";
  t.thresholds = {100, 1000};
  t.rows = 2'500'000;
  t.distinct_values = 3;
  t.truncates = 1;
  t.truncate_times = {kT0 + 120 * kMinute};
  t.values.push_back(
      Value(KeyValue::Of("returned"), 2'400'000,
            {Cross(100, 101, 0x16C0000, kT0 + 5 * kMinute, DecisionKind::kCreate),
             Cross(1000, 1001, 0x1700000, kT0 + 20 * kMinute, DecisionKind::kAlert, 1)}));
  t.values.push_back(
      Value(KeyValue::Null(), 150,
            {Cross(100, 120, 0x1800000, kT0 + 60 * kMinute, DecisionKind::kMaxFuture)}));
  t.values.push_back(Value(KeyValue::Of("late"), 50, {}));
  t.other_values = 0;
  for (int i = 0; i < 180; i += 3) t.rows_per_minute.push_back({kT0 + i * kMinute, 1000 + i});
  Series a{KeyValue::Of("returned"), {}};
  Series b{KeyValue::Null(), {}};
  for (int i = 1; i <= 90; ++i) {
    a.points.push_back({kT0 + i * kMinute, i * 26'000});
    if (i % 10 == 0) b.points.push_back({kT0 + i * kMinute, i * 5 / 3});
  }
  t.top_series = {a, b};
  r.tables.push_back(t);
  return r;
}

// ---- shared pieces ------------------------------------------------------

TEST(RenderFormatTest, FormatTimeIsIsoUtcWithTheFractionOnlyWhenThere) {
  EXPECT_EQ(FormatTime(0), "2000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(kT0), "2026-12-02T13:00:00Z");
  EXPECT_EQ(FormatTime(849'542'997'123'456), "2026-12-02T16:09:57.123456Z");
  EXPECT_EQ(FormatTime(762'523'200'000'000), "2024-02-29T12:00:00Z");  // a leap day
  EXPECT_EQ(FormatTime(-1'000'000), "1999-12-31T23:59:59Z");           // before the epoch
  EXPECT_EQ(FormatTime(-1), "1999-12-31T23:59:59.999999Z");
}

TEST(RenderFormatTest, DecisionKindNamesAreTheJsonStrings) {
  EXPECT_STREQ(DecisionKindName(DecisionKind::kCreate), "create");
  EXPECT_STREQ(DecisionKindName(DecisionKind::kAlert), "alert");
  EXPECT_STREQ(DecisionKindName(DecisionKind::kMaxFuture), "held by max_future");
  EXPECT_STREQ(DecisionKindName(DecisionKind::kCapped), "capped");
}

TEST(RenderFormatTest, ThousandsSeparators) {
  EXPECT_EQ(internal::Thousands(0), "0");
  EXPECT_EQ(internal::Thousands(999), "999");
  EXPECT_EQ(internal::Thousands(1000), "1,000");
  EXPECT_EQ(internal::Thousands(-1234567), "-1,234,567");
  EXPECT_EQ(internal::Thousands(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(RenderFormatTest, ValidUtf8ReplacesWhatIsNotUtf8) {
  EXPECT_EQ(internal::ValidUtf8("caf\xC3\xA9 \xE2\x86\x92"), "caf\xC3\xA9 \xE2\x86\x92");
  EXPECT_EQ(internal::ValidUtf8("a\xFF"
                                "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(internal::ValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(internal::ValidUtf8("\xED\xA0\x80"),                           // a surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(internal::ValidUtf8("\xE2\x86"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // cut short
}

TEST(RenderFormatTest, EngineCountsWinOverCountingTheListedValues) {
  TableReport t = Sample().tables[0];
  EXPECT_EQ(internal::ScenarioDecisions(t)[0].create, 1);
  EXPECT_EQ(internal::ScenarioDecisions(t)[0].max_future, 1);
  EXPECT_EQ(internal::ScenarioDecisions(t)[1].alert, 1);
  t.decisions = {DecisionCounts{12, 2, 1, 0}, DecisionCounts{3, 0, 0, 4}};
  EXPECT_EQ(internal::ScenarioDecisions(t)[0].create, 12);
  EXPECT_EQ(internal::ScenarioDecisions(t)[1].capped, 4);
}

// ---- JSON -----------------------------------------------------------------

TEST(RenderJsonTest, RoundTripsWithTheDocumentedKeys) {
  const nlohmann::json j = nlohmann::json::parse(RenderJson(Sample()));
  for (const char* k :
       {"sources", "first_lsn", "last_lsn", "first_time", "last_time", "transactions", "tables"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["sources"][0]["name"], "/var/lib/partwatch/capture");
  EXPECT_EQ(j["sources"][0]["kind"], "capture");
  EXPECT_EQ(j["sources"][0]["records"], 12345);
  EXPECT_EQ(j["sources"][0]["skipped"], 2);
  EXPECT_EQ(j["sources"][0]["warnings"][0], "torn tail at byte 4096");
  EXPECT_EQ(j["first_lsn"], "0/16B2D48");
  EXPECT_EQ(j["last_lsn"], "0/1A00000");
  EXPECT_EQ(j["first_time"], "2026-12-02T13:00:00Z");
  EXPECT_EQ(j["last_time"], "2026-12-02T16:00:00Z");
  EXPECT_EQ(j["transactions"], 4321);

  const auto& t = j["tables"][0];
  for (const char* k :
       {"name", "strategy", "thresholds", "rows", "distinct_values", "truncates", "truncate_times",
        "other_values", "values", "rows_per_minute", "decisions"}) {
    EXPECT_TRUE(t.contains(k)) << k;
  }
  EXPECT_EQ(t["thresholds"], nlohmann::json::array({100, 1000}));
  EXPECT_EQ(t["rows"], 2500000);
  EXPECT_EQ(t["truncate_times"][0], "2026-12-02T15:00:00Z");
  EXPECT_EQ(t["rows_per_minute"][0], nlohmann::json::array({"2026-12-02T13:00:00Z", 1000}));
  EXPECT_EQ(t["rows_per_minute"].size(), 60u);

  const auto& returned = t["values"][0];
  for (const char* k :
       {"value", "rows", "approximate", "first_time", "last_time", "crossings", "decision"}) {
    EXPECT_TRUE(returned.contains(k)) << k;
  }
  EXPECT_EQ(returned["value"], "returned");
  EXPECT_EQ(returned["approximate"], false);
  EXPECT_EQ(returned["decision"], "create");
  ASSERT_EQ(returned["crossings"].size(), 2u);
  EXPECT_EQ(returned["crossings"][1], nlohmann::json({{"threshold", 1000},
                                                      {"rows", 1001},
                                                      {"lsn", "0/1700000"},
                                                      {"time", "2026-12-02T13:20:00Z"},
                                                      {"decision", "alert"}}));

  const auto& null_value = t["values"][1];
  EXPECT_TRUE(null_value["value"].is_null());  // SQL NULL is JSON null, not "NULL"
  EXPECT_EQ(null_value["decision"], "held by max_future");
  EXPECT_TRUE(t["values"][2]["decision"].is_null());  // never crossed
  EXPECT_TRUE(t["values"][2]["crossings"].empty());

  EXPECT_EQ(
      t["decisions"]["100"],
      nlohmann::json({{"create", 1}, {"alert", 0}, {"held by max_future", 1}, {"capped", 0}}));
  EXPECT_EQ(t["decisions"]["1000"]["alert"], 1);
}

TEST(RenderJsonTest, UnknownPositionsAndTimesAreNull) {
  Report r;
  r.tables.push_back(TableReport{});
  r.tables[0].thresholds = {5};
  ValueReport v;
  v.value = KeyValue::Of("x");
  v.crossings = {Cross(5, 6, 0, std::nullopt, DecisionKind::kCapped)};
  r.tables[0].values.push_back(v);
  const nlohmann::json j = nlohmann::json::parse(RenderJson(r));
  EXPECT_TRUE(j["first_lsn"].is_null());
  EXPECT_TRUE(j["last_lsn"].is_null());
  EXPECT_TRUE(j["first_time"].is_null());
  EXPECT_TRUE(j["last_time"].is_null());
  const auto& c = j["tables"][0]["values"][0];
  EXPECT_TRUE(c["first_time"].is_null());
  EXPECT_TRUE(c["crossings"][0]["time"].is_null());
  EXPECT_TRUE(c["crossings"][0]["lsn"].is_null());
  EXPECT_EQ(c["decision"], "capped");
}

TEST(RenderJsonTest, BytesThatAreNotUtf8DoNotThrow) {
  Report r = Sample();
  r.tables[0].values[0].value = KeyValue::Of("bad \xFF\xFE byte");
  std::string out;
  ASSERT_NO_THROW(out = RenderJson(r));
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["tables"][0]["values"][0]["value"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
}

// ---- CSV ------------------------------------------------------------------

// RFC 4180: records end in CRLF; a quoted field may hold , " CR LF.
std::vector<std::vector<std::string>> ParseCsv(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_TRUE(field.empty() && row.empty()) << "last record without CRLF";
  return rows;
}

TEST(RenderCsvTest, HeaderAndOneRowPerValueAndScenario) {
  const auto rows = ParseCsv(RenderCsv(Sample()));
  ASSERT_EQ(rows.size(), 1u + 3 * 2);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"table", "value", "is_null", "rows", "first_time",
                                               "last_time", "threshold", "crossed_rows",
                                               "crossed_lsn", "crossed_time", "decision"}));
  EXPECT_EQ(rows[1],
            (std::vector<std::string>{"public.orders", "returned", "false", "2400000",
                                      "2026-12-02T13:01:00Z", "2026-12-02T14:30:00Z", "100", "101",
                                      "0/16C0000", "2026-12-02T13:05:00Z", "create"}));
  // NULL: an empty value, is_null true; a scenario it never crossed: empty.
  EXPECT_EQ(rows[3][1], "");
  EXPECT_EQ(rows[3][2], "true");
  EXPECT_EQ(rows[4][6], "1000");
  EXPECT_EQ((std::vector<std::string>(rows[4].begin() + 7, rows[4].end())),
            (std::vector<std::string>{"", "", "", ""}));
  for (const auto& row : rows) EXPECT_EQ(row.size(), 11u);
}

TEST(RenderCsvTest, HostileValuesAreQuotedAndParseBack) {
  Report r = Sample();
  const std::string hostile = "a,b \"quoted\"\r\nnext line\n=HYPERLINK(\"x\")";
  r.tables[0].name = "public.\"odd,name\"";
  r.tables[0].values[0].value = KeyValue::Of(hostile);
  r.tables[0].values[1].value = KeyValue::Of("=1+1");
  const std::string csv = RenderCsv(r);
  const auto rows = ParseCsv(csv);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[1][0], "public.\"odd,name\"");
  EXPECT_EQ(rows[1][1], hostile);
  EXPECT_EQ(rows[1].size(), 11u);
  EXPECT_EQ(rows[3][1], "=1+1");  // data, not rewritten
  EXPECT_NE(csv.find("\"a,b \"\"quoted\"\"\r\nnext line\n=HYPERLINK(\"\"x\"\")\""),
            std::string::npos);
}

// ---- text -----------------------------------------------------------------

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

TEST(RenderTextTest, SaysWhatEachThresholdWouldHaveDone) {
  const std::string text = RenderText(Sample());
  EXPECT_NE(text.find("  threshold 100: 1 partition would have been created, 0 alerts, 1 held by "
                      "max_future, 0 capped\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  threshold 1000: 0 partitions would have been created, 1 alert, 0 held "
                      "by max_future, 0 capped\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("/var/lib/partwatch/capture"), std::string::npos);
  EXPECT_NE(text.find("12,345 records"), std::string::npos);
  EXPECT_NE(text.find("0/16B2D48 .. 0/1A00000"), std::string::npos);
  EXPECT_NE(text.find("2026-12-02T13:00:00Z .. 2026-12-02T16:00:00Z (3 h 0 min)"),
            std::string::npos);
  EXPECT_NE(text.find("4,321 committed"), std::string::npos);
  EXPECT_NE(text.find("2,500,000"), std::string::npos);
  EXPECT_NE(text.find("crossed at 2026-12-02 13:05:00 (101 rows) \xE2\x86\x92 create"),
            std::string::npos);
  EXPECT_NE(text.find("never"), std::string::npos);

  Report r = Sample();
  r.tables[0].decisions = {DecisionCounts{12, 2, 1, 0}, DecisionCounts{}};
  EXPECT_NE(RenderText(r).find("threshold 100: 12 partitions would have been created, 2 alerts, "
                               "1 held by max_future, 0 capped"),
            std::string::npos);
}

TEST(RenderTextTest, ColumnsLineUp) {
  const std::vector<std::string> lines = Lines(RenderText(Sample()));
  size_t header = 0;
  while (header < lines.size() && lines[header].rfind("  value ", 0) != 0) ++header;
  ASSERT_LT(header + 3, lines.size());
  const std::string& head = lines[header];
  const size_t rows_end = head.find("rows") + 4;  // numbers are right-aligned to here
  const size_t first = head.find("threshold 100 ");
  const size_t second = head.find("threshold 1000");
  ASSERT_NE(second, std::string::npos) << head;
  const std::string& returned = lines[header + 1];
  const std::string& null_value = lines[header + 2];
  const std::string& late = lines[header + 3];
  EXPECT_EQ(returned.substr(rows_end - 9, 10), "2,400,000 ") << returned;
  EXPECT_EQ(null_value.substr(rows_end - 4, 5), " 150 ") << null_value;
  EXPECT_EQ(late.substr(rows_end - 3, 4), " 50 ") << late;
  EXPECT_EQ(returned.compare(first, 11, "crossed at "), 0) << returned;
  EXPECT_EQ(late.compare(first, 6, "never "), 0) << late;
  EXPECT_EQ(late.compare(second, 5, "never"), 0) << late;
  // "→" is three bytes but one column: the next column is two bytes later.
  EXPECT_EQ(returned.compare(second + 2, 11, "crossed at "), 0) << returned;
}

TEST(RenderTextTest, AValueCannotForgeALine) {
  Report r = Sample();
  r.tables[0].values[0].value =
      KeyValue::Of("x\nthreshold 100: 999 partitions would have been created\x1b[2J");
  r.tables[0].name = "public.t\nforged";
  const std::string text = RenderText(r);
  for (const std::string& line : Lines(text)) {
    EXPECT_NE(line.rfind("threshold 100: 999", 0), 0u) << line;
    EXPECT_NE(line.rfind("forged", 0), 0u) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
  EXPECT_NE(text.find("'x\\nthreshold 100: 999"), std::string::npos);
  EXPECT_NE(text.find("\\x1b[2J"), std::string::npos);
}

TEST(RenderTextTest, EmptyReportAndMissingTimes) {
  const std::string empty = RenderText(Report{});
  EXPECT_NE(empty.find("No tables in this report."), std::string::npos);
  EXPECT_NE(empty.find("unknown (the source carried no commit times)"), std::string::npos);
  Report r;
  r.tables.push_back(TableReport{});
  r.tables[0].thresholds = {5};
  ValueReport v;
  v.value = KeyValue::Of("x");
  v.rows = 9;
  v.crossings = {Cross(5, 6, 0x2000000, std::nullopt, DecisionKind::kCreate)};
  r.tables[0].values.push_back(v);
  EXPECT_NE(RenderText(r).find("crossed at LSN 0/2000000 (6 rows)"), std::string::npos);
}

// ---- HTML -----------------------------------------------------------------

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// No script, no network reference, valid UTF-8, no NaN or infinity drawn.
void ExpectSelfContained(const std::string& html) {
  const std::string lower = Lower(html);
  EXPECT_EQ(lower.find("<script"), std::string::npos);
  EXPECT_EQ(lower.find("http://"), std::string::npos);
  EXPECT_EQ(lower.find("https://"), std::string::npos);
  EXPECT_EQ(lower.find("url("), std::string::npos);
  // No element refers to anything but an anchor of the page itself.
  EXPECT_FALSE(std::regex_search(
      lower, std::regex("<[a-z][^>]*\\s(src|href|xlink:href|action|srcset)\\s*=\\s*\"(?!#)")))
      << "a reference out of the page";
  EXPECT_EQ(lower.find("@import"), std::string::npos);
  EXPECT_EQ(internal::ValidUtf8(html), html);
  EXPECT_FALSE(std::regex_search(lower, std::regex("[^a-z](-?nan|-?inf)[^a-z]"))) << "NaN drawn";
  EXPECT_EQ(lower.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(lower.find("</html>"), std::string::npos);
}

TEST(RenderHtmlTest, ThreeChartsPerTableAndTheSummary) {
  Report r = Sample();
  r.tables.push_back(r.tables[0]);
  r.tables[1].name = "public.events";
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 6u);
  EXPECT_EQ(Count(html, "<polyline class=\"curve\""), 4u);          // two top values per table
  EXPECT_NE(html.find("threshold 100</text>"), std::string::npos);  // the dashed line's label
  EXPECT_NE(html.find("2,500,000"), std::string::npos);
  // The decisions table: threshold 100 created 1, alerted 0, held 1, capped 0.
  EXPECT_NE(html.find("<tr><th>threshold 100</th><td class=\"num\">1</td>"
                      "<td class=\"num zero\">0</td><td class=\"num\">1</td>"
                      "<td class=\"num zero\">0</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("TRUNCATE</text>"), std::string::npos);
  // One marker per crossing, with its tooltip.
  EXPECT_EQ(Count(html, "<g class=\"mark\"><title>"), 6u);
  EXPECT_NE(html.find("max-width:1200px"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("page-break-inside:avoid"), std::string::npos);
}

TEST(RenderHtmlTest, EscapesTheDataEverywhere) {
  Report r = Sample();
  const std::string evil = "<script>alert(1)</script>";
  r.tables[0].name = evil;
  r.tables[0].values[0].value = KeyValue::Of(evil);
  r.tables[0].top_series[0].value = KeyValue::Of(evil);
  r.tables[0].values[1].value = KeyValue::Of("http://evil.example/x.png' onerror=\"y\"");
  r.sources[0].name = "https://attacker.example/<b>";
  r.sources[0].warnings = {"<img src=x>"};
  r.tables[0].strategy = "<i>list</i>";
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(html.find(evil), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_EQ(html.find("onerror=\""), std::string::npos);
  // As a table name, a table cell, a legend label and a tooltip.
  EXPECT_GE(Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 4u);
  EXPECT_NE(html.find("http&#58;//evil.example"), std::string::npos);
}

TEST(RenderHtmlTest, LongValuesAreCutInLabels) {
  Report r = Sample();
  r.tables[0].top_series[0].value = KeyValue::Of(std::string(5000, 'z'));
  const std::string html = RenderHtml(r);
  // The legend shows 40 bytes; the tooltip 120; nothing shows all 5000.
  EXPECT_NE(html.find("&#39;" + std::string(40, 'z') + "&#39;\xE2\x80\xA6"), std::string::npos);
  EXPECT_EQ(html.find(std::string(300, 'z')), std::string::npos);
}

TEST(RenderHtmlTest, EmptyReport) {
  const std::string html = RenderHtml(Report{});
  ExpectSelfContained(html);
  EXPECT_NE(html.find("No tables in this report"), std::string::npos);
  EXPECT_EQ(html.find("<svg class=\"plot\""), std::string::npos);

  Report r;
  r.tables.push_back(TableReport{});
  r.tables[0].name = "public.quiet";
  r.tables[0].thresholds = {100};
  const std::string quiet = RenderHtml(r);
  ExpectSelfContained(quiet);
  EXPECT_NE(quiet.find("public.quiet"), std::string::npos);
  EXPECT_NE(quiet.find("No curves"), std::string::npos);
}

TEST(RenderHtmlTest, WithoutTimesTheTimelineUsesLsns) {
  Report r = Sample();
  r.first_time.reset();
  r.last_time.reset();
  TableReport& t = r.tables[0];
  t.truncate_times.clear();
  t.rows_per_minute.clear();
  t.top_series.clear();
  for (ValueReport& v : t.values) {
    v.first_time.reset();
    v.last_time.reset();
    for (Crossing& c : v.crossings) c.time.reset();
  }
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_NE(html.find("the source carried no commit times"), std::string::npos);
  EXPECT_NE(html.find(">LSN</text>"), std::string::npos);
  EXPECT_NE(html.find(">0/1800000</text>"), std::string::npos) << "no LSN tick";
  EXPECT_NE(html.find("1 TRUNCATE of DEFAULT not drawn"), std::string::npos);
  EXPECT_EQ(Count(html, "<g class=\"mark\">"), 3u);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 1u);  // curves and rates need times
}

TEST(RenderHtmlTest, OnePointInTime) {
  Report r;
  r.first_time = kT0;
  r.last_time = kT0;
  r.first_lsn = r.last_lsn = Lsn(0x3000000);
  TableReport t;
  t.name = "public.once";
  t.thresholds = {1};
  t.rows = 7;
  ValueReport v =
      Value(KeyValue::Of("only"), 7, {Cross(1, 7, 0x3000000, kT0, DecisionKind::kCreate)});
  v.first_time = v.last_time = kT0;
  t.values = {v};
  t.rows_per_minute = {{kT0, 7}};
  t.top_series = {Series{KeyValue::Of("only"), {{kT0, 7}}}};
  r.tables.push_back(t);
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 3u);
  EXPECT_EQ(Count(html, "<polyline class=\"curve\""), 1u);
  EXPECT_NE(html.find(">13&#58;00</text>"), std::string::npos) << "no tick at the point";

  // The same without times: one WAL position, still an axis with width.
  for (auto* time : {&r.first_time, &r.last_time, &r.tables[0].values[0].first_time,
                     &r.tables[0].values[0].last_time, &r.tables[0].values[0].crossings[0].time}) {
    time->reset();
  }
  r.tables[0].rows_per_minute.clear();
  r.tables[0].top_series.clear();
  const std::string untimed = RenderHtml(r);
  ExpectSelfContained(untimed);
  EXPECT_EQ(Count(untimed, "<g class=\"mark\">"), 1u);
}

TEST(RenderHtmlTest, LongSpansAreBucketedAndSaySo) {
  Report r = Sample();
  TableReport& t = r.tables[0];
  t.rows_per_minute.clear();
  for (int i = 0; i < 1000; ++i) t.rows_per_minute.push_back({kT0 + i * kMinute, 1'000'000});
  r.last_time = kT0 + 1000 * kMinute;
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_NE(html.find(">rows per 5 minutes</text>"), std::string::npos);
  const size_t bars = html.find("<g class=\"bars\">");
  ASSERT_NE(bars, std::string::npos);
  const std::string group = html.substr(bars, html.find("</g>", bars) - bars);
  EXPECT_EQ(Count(group, "<rect "), 200u);
  EXPECT_NE(group.find("5,000,000 rows"), std::string::npos);  // huge counts, separated
}

// A damaged or hostile source may carry any timestamp and any count.
TEST(RenderHtmlTest, ExtremeTimesAndCountsStillDraw) {
  Report r = Sample();
  r.first_time = INT64_MIN;
  r.last_time = INT64_MAX;
  r.tables[0].values[0].rows = INT64_MAX;
  r.tables[0].top_series[0].points.back().second = INT64_MAX;
  r.tables[0].rows_per_minute.push_back({INT64_MAX - kMinute, INT64_MAX});
  const std::string html = RenderHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 3u);
  EXPECT_NE(html.find("9,223,372,036,854,775,807"), std::string::npos);
  EXPECT_NE(RenderText(r).find("9,223,372,036,854,775,807"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(RenderJson(r))["tables"][0]["values"][0]["rows"], INT64_MAX);
  EXPECT_NE(RenderCsv(r).find(",9223372036854775807,"), std::string::npos);

  // And WAL positions at the very end of the range.
  for (ValueReport& v : r.tables[0].values) {
    for (Crossing& c : v.crossings) {
      c.time.reset();
      c.lsn = Lsn(UINT64_MAX);
    }
  }
  r.first_lsn = r.last_lsn = Lsn(UINT64_MAX);
  const std::string untimed = RenderHtml(r);
  ExpectSelfContained(untimed);
  EXPECT_NE(untimed.find(">FFFFFFFF/FFFFFF00</text>"), std::string::npos);
  EXPECT_EQ(Count(untimed, "<g class=\"mark\">"), 3u);
}

TEST(RenderHtmlTest, ThresholdsFarAboveTheCurvesAreNamedNotDrawn) {
  Report r = Sample();
  r.tables[0].thresholds = {100, 1'000'000'000};
  const std::string html = RenderHtml(r);
  EXPECT_EQ(Count(html, "<line class=\"threshold\""), 1u);
  EXPECT_NE(html.find("threshold-label\" x=\""), std::string::npos);
  EXPECT_NE(html.find("Not drawn, far above every curve: threshold 1000000000."),
            std::string::npos);
  EXPECT_NE(html.find(">threshold 1000000000</text>"), std::string::npos);  // its lane
}

}  // namespace
}  // namespace partwatch::replay

namespace partwatch::replay {
namespace {

// A pg_partman bucket after the newest child crosses at threshold 0 in a
// scenario of threshold 1000: it is that scenario's crossing everywhere.
TEST(RenderScenarioTest, ACrossingBelongsToItsScenarioNotToItsThreshold) {
  Report r;
  TableReport t;
  t.name = "public.events";
  t.strategy = "range";
  t.thresholds = {1000};
  ValueReport v;
  v.value = policy::KeyValue::Of("2026-12-09");
  v.rows = 2;
  Crossing c;
  c.scenario = 0;
  c.threshold = 0;
  c.rows = 2;
  c.lsn = Lsn(0x100);
  c.decision = DecisionKind::kCreate;
  v.crossings.push_back(c);
  t.values.push_back(v);
  r.tables.push_back(t);
  const nlohmann::json j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["tables"][0]["values"][0]["decision"], "create");
  EXPECT_NE(RenderCsv(r).find(",1000,2,0/100,,create"), std::string::npos) << RenderCsv(r);
  EXPECT_NE(RenderText(r).find("threshold 1000: 1 partition would have been created"),
            std::string::npos)
      << RenderText(r);
}

}  // namespace
}  // namespace partwatch::replay
