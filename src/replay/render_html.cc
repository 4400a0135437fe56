// The HTML report: one self-contained page, inline CSS and inline SVG.
//
// What it may not contain, whatever the data: a script, a reference to
// anything outside the file (no font, image or style sheet from a network;
// not even the text "http://" or "https://": every ':' of the data is
// written as &#58;), or a byte of the data that is not escaped.  Strings
// from the data (table, source and value names, warnings) only ever land in
// text nodes, never in an attribute.
//
// Three charts per table share one x axis (the report's time range, so the
// charts of every table line up): cumulative rows of the top values, rows
// per minute, and the decisions of each threshold scenario on a timeline.
// Without commit times the timeline falls back to WAL positions.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "policy/naming.h"
#include "src/replay/render_util.h"
#include "src/replay/report.h"

namespace partwatch::replay {

namespace {

using internal::kMicrosPerMinute;
using internal::kMicrosPerSecond;
using internal::Thousands;

// Chart geometry, in viewBox units; each SVG scales to the column's width
// (about 1100 px at a 1280 px window, so a unit is about a pixel).
constexpr double kWidth = 1100;
constexpr double kLeft = 124;  // y labels, lane labels
constexpr double kRight = 28;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kAxisBelow = 44;  // two lines of x labels

constexpr size_t kLegendLabelBytes = 40;
constexpr size_t kTooltipLabelBytes = 120;
constexpr size_t kMaxSeries = 8;
constexpr int64_t kMaxBars = 400;

// Tableau 10 without its lightest colours: distinct on screen and on paper.
constexpr const char* kPalette[kMaxSeries] = {"#4e79a7", "#f28e2b", "#e15759", "#59a14f",
                                              "#b07aa1", "#76b7b2", "#9c755f", "#edc948"};

const char* DecisionColour(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kCreate:
      return "#2e7d32";
    case DecisionKind::kAlert:
      return "#d97706";
    case DecisionKind::kMaxFuture:
      return "#7c3aed";
    case DecisionKind::kCapped:
      return "#dc2626";
  }
  return "#6b7280";
}

// The CSS class of a decision ("create", "alert", "max-future", "capped").
const char* DecisionClass(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kCreate:
      return "create";
    case DecisionKind::kAlert:
      return "alert";
    case DecisionKind::kMaxFuture:
      return "max-future";
    case DecisionKind::kCapped:
      return "capped";
  }
  return "unknown";
}

// Text for an HTML text node or attribute: UTF-8 made valid, & < > " '
// escaped, and ':' too, so that no URL scheme of the data survives as text.
std::string Esc(std::string_view s) {
  const std::string valid = internal::ValidUtf8(s);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case ':':
        out += "&#58;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A string from the data (not a value): control bytes escaped, cut, escaped.
std::string EscName(std::string_view s, size_t max_bytes = 200) {
  std::string printable = internal::Printable(s);
  if (printable.size() > max_bytes) {
    printable = policy::CutUtf8(printable, max_bytes) + "\xE2\x80\xA6";
  }
  return Esc(printable);
}

std::string EscValue(const policy::KeyValue& v, size_t max_bytes) {
  return Esc(internal::ValueLabel(v, max_bytes));
}

std::string Num(double v) { return fmt::format("{:.1f}", v); }

std::string Plural(int64_t n, const char* one, const char* many) {
  return Thousands(n) + " " + (n == 1 ? one : many);
}

// "512 bytes", "1.5 KiB", "121.0 MiB", "3.2 GiB".
std::string Bytes(uint64_t n) {
  if (n < 1024) return Plural(static_cast<int64_t>(n), "byte", "bytes");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(units)) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, units[unit]);
}

// For a label that must fit `max_width` units in the margin left of a
// plot: squeezes it (textLength) when an estimate of its width says it
// would not.  Digits and letters average about 0.6 em.
std::string FitWidth(const std::string& label, double max_width, double font_size) {
  const double estimate = static_cast<double>(label.size()) * font_size * 0.6;
  if (estimate <= max_width) return "";
  return fmt::format(" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\"", Num(max_width));
}

// ---- axes ------------------------------------------------------------

struct Tick {
  long double at = 0;
  std::string label;
  std::string sublabel;  // a second line (the date where it changes)
};

// The horizontal axis: times in microseconds or WAL positions, as long
// double (exact for every int64_t and uint64_t on x86-64, and only ever
// scaled to pixels).
struct XAxis {
  bool by_lsn = false;
  long double lo = 0;
  long double hi = 1;
  std::vector<Tick> ticks;
  double X(long double v) const {
    return kLeft + static_cast<double>((v - lo) / (hi - lo)) * kPlotWidth;
  }
};

int64_t FloorTo(int64_t v, int64_t step) {
  const int64_t q = v / step;
  return (v % step != 0 && v < 0 ? q - 1 : q) * step;
}

std::string DateOf(int64_t t) {
  const internal::CivilTime c = internal::ToCivil(t);
  return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
}

// A time axis over [lo, hi] with ticks on round UTC times; a single point
// in time (or a span under ten minutes) is widened to ten minutes.  Times
// beyond 73,000 years of 2000 (a damaged or hostile source) are held to
// that, so no sum below can overflow.
XAxis TimeAxis(int64_t lo, int64_t hi) {
  constexpr int64_t kMinSpan = 10 * kMicrosPerMinute;
  constexpr int64_t kLimit = int64_t{1} << 61;
  lo = std::clamp(lo, -kLimit, kLimit);
  hi = std::clamp(hi, lo, kLimit);
  if (hi - lo < kMinSpan) {
    const int64_t mid = lo + (hi - lo) / 2;
    lo = mid - kMinSpan / 2;
    hi = mid + kMinSpan / 2;
  }
  XAxis axis;
  axis.lo = static_cast<long double>(lo);
  axis.hi = static_cast<long double>(hi);
  static constexpr int64_t kStepSeconds[] = {
      1,    2,    5,     10,    15,    30,    60,     120,    300,     600,     900,    1800,
      3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2419200, 7257600};
  constexpr int64_t kMaxTicks = 8;
  int64_t step = 0;
  for (int64_t s : kStepSeconds) {
    if ((hi - lo) / (s * kMicrosPerSecond) <= kMaxTicks) {
      step = s * kMicrosPerSecond;
      break;
    }
  }
  if (step == 0) {  // spans of years: whole multiples of 365 days
    const int64_t year = 365 * internal::kMicrosPerDay;
    step = ((hi - lo) / kMaxTicks / year + 1) * year;
  }
  std::string previous_date;
  for (int64_t t = FloorTo(lo, step) + (lo % step == 0 ? 0 : step); t <= hi; t += step) {
    const internal::CivilTime c = internal::ToCivil(t);
    Tick tick;
    tick.at = static_cast<long double>(t);
    const std::string date = DateOf(t);
    if (step >= internal::kMicrosPerDay) {
      tick.label = date;
    } else {
      tick.label = step < kMicrosPerMinute
                       ? fmt::format("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
                       : fmt::format("{:02}:{:02}", c.hour, c.minute);
      if (date != previous_date) tick.sublabel = date;
    }
    previous_date = date;
    axis.ticks.push_back(std::move(tick));
  }
  return axis;
}

// A WAL-position axis; ticks on powers of two (round in hexadecimal).
XAxis LsnAxis(uint64_t lo, uint64_t hi) {
  constexpr uint64_t kMinSpan = 256;
  if (hi - lo < kMinSpan) {
    const uint64_t mid = lo + (hi - lo) / 2;
    lo = std::min(mid > kMinSpan / 2 ? mid - kMinSpan / 2 : 0, UINT64_MAX - kMinSpan);
    hi = lo + kMinSpan;
  }
  XAxis axis;
  axis.by_lsn = true;
  axis.lo = static_cast<long double>(lo);
  axis.hi = static_cast<long double>(hi);
  uint64_t step = 1;
  while (step < (uint64_t{1} << 62) && (hi - lo) / step > 6) step <<= 1;
  uint64_t v = lo / step * step;
  if (v < lo && v > UINT64_MAX - step) return axis;
  if (v < lo) v += step;
  while (v <= hi) {
    axis.ticks.push_back({static_cast<long double>(v), Lsn(v).ToString(), ""});
    if (v > UINT64_MAX - step) break;
    v += step;
  }
  return axis;
}

struct YAxis {
  double max = 1;
  double step = 1;
};

// 0..max in round steps (1, 2 or 5 times a power of ten), about five.
YAxis NiceY(double max_value) {
  if (max_value < 1) max_value = 1;
  const double raw = max_value / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  step = std::max(1.0, std::round(step));
  return {std::ceil(max_value / step) * step, step};
}

// Vertical grid, tick marks and labels under a plot that ends at `bottom`.
void DrawXAxis(const XAxis& axis, double top, double bottom, std::string* svg) {
  *svg += "<g class=\"x-axis\">";
  for (const Tick& t : axis.ticks) {
    const double x = axis.X(t.at);
    const char* anchor =
        x - kLeft < 30 ? "start" : (kLeft + kPlotWidth - x < 30 ? "end" : "middle");
    const double tx = std::string_view(anchor) == "start" ? x - 2 : x;
    *svg += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
        "<line class=\"tick\" x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\"/>"
        "<text x=\"{4}\" y=\"{5}\" text-anchor=\"{6}\">{7}</text>",
        Num(x), Num(top), Num(bottom), Num(bottom + 5), Num(tx), Num(bottom + 18), anchor,
        Esc(t.label));
    if (!t.sublabel.empty()) {
      *svg += fmt::format("<text class=\"sub\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                          Num(tx), Num(bottom + 33), anchor, Esc(t.sublabel));
    }
  }
  *svg += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>"
      "<text class=\"axis-title\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text></g>",
      Num(kLeft), Num(kLeft + kPlotWidth), Num(bottom), Num(kLeft - 10), Num(bottom + 18),
      axis.by_lsn ? "LSN" : "UTC");
}

// Horizontal grid and labels; `title` above the labels, at the top left.
void DrawYAxis(const YAxis& y, double top, double height, const std::string& title,
               std::string* svg) {
  *svg += "<g class=\"y-axis\">";
  for (double v = 0; v <= y.max + y.step / 2; v += y.step) {
    const double py = top + height * (1 - v / y.max);
    *svg += fmt::format(
        "<line class=\"{0}\" x1=\"{1}\" y1=\"{3}\" x2=\"{2}\" y2=\"{3}\"/>"
        "<text x=\"{4}\" y=\"{5}\" text-anchor=\"end\"{7}>{6}</text>",
        v == 0 ? "axis" : "grid", Num(kLeft), Num(kLeft + kPlotWidth), Num(py), Num(kLeft - 10),
        Num(py + 4), Thousands(static_cast<int64_t>(std::min(v, 9e18))),
        FitWidth(Thousands(static_cast<int64_t>(std::min(v, 9e18))), kLeft - 16, 12));
  }
  *svg += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\">{}</text></g>", Num(kLeft),
                      Num(top - 12), Esc(title));
}

std::string SvgOpen(double height, const char* label) {
  return fmt::format(
      "<svg class=\"plot\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
      Num(kWidth), Num(height), label);
}

std::string Note(const std::string& text) { return "<p class=\"note\">" + text + "</p>"; }

// ---- the report's time range -------------------------------------------

// What every table's section shares: the time axis (none without times)
// and, when every time falls on one UTC day, that day: tables then show
// times of day only.
struct Context {
  std::optional<XAxis> time_axis;
  std::string single_day;
};

std::string TimeText(int64_t t, const Context& ctx) {
  return !ctx.single_day.empty() && DateOf(t) == ctx.single_day ? internal::ShortTime(t).substr(11)
                                                                : internal::ShortTime(t);
}

// Every time the report carries, for one x axis shared by all charts.
std::optional<std::pair<int64_t, int64_t>> TimeRange(const Report& report) {
  std::optional<std::pair<int64_t, int64_t>> range;
  auto add = [&](int64_t t) {
    if (!range) {
      range = std::make_pair(t, t);
    } else {
      range->first = std::min(range->first, t);
      range->second = std::max(range->second, t);
    }
  };
  if (report.first_time) add(*report.first_time);
  if (report.last_time) add(*report.last_time);
  for (const TableReport& t : report.tables) {
    for (int64_t tt : t.truncate_times) add(tt);
    for (const auto& [minute, rows] : t.rows_per_minute) {
      add(minute);
      add(internal::SaturatingAdd(minute, kMicrosPerMinute));
    }
    for (const Series& s : t.top_series) {
      for (const auto& [time, rows] : s.points) add(time);
    }
    for (const ValueReport& v : t.values) {
      if (v.first_time) add(*v.first_time);
      if (v.last_time) add(*v.last_time);
      for (const Crossing& c : v.crossings) {
        if (c.time) add(*c.time);
      }
    }
  }
  return range;
}

// ---- chart 1: cumulative rows of the top values ------------------------

std::string Swatch(const char* colour, bool dashed) {
  return fmt::format(
      "<svg class=\"swatch\" viewBox=\"0 0 24 10\" width=\"24\" height=\"10\" aria-hidden=\"true\">"
      "<line x1=\"1\" y1=\"5\" x2=\"23\" y2=\"5\" stroke=\"{}\" stroke-width=\"{}\"{}/></svg>",
      colour, dashed ? "1.5" : "3", dashed ? " stroke-dasharray=\"4 3\"" : "");
}

std::string CumulativeChart(const TableReport& t, const std::optional<XAxis>& time_axis) {
  std::string out =
      "<figure class=\"chart\"><figcaption>Cumulative rows in DEFAULT "
      "<span>top values, one line each</span></figcaption>";
  int64_t data_max = 0;
  size_t points = 0;
  for (size_t i = 0; i < t.top_series.size() && i < kMaxSeries; ++i) {
    for (const auto& [time, rows] : t.top_series[i].points) data_max = std::max(data_max, rows);
    points += t.top_series[i].points.size();
  }
  if (!time_axis || points == 0) {
    return out +
           Note(time_axis ? "No per-value curves in this report: no value's rows came with "
                            "commit times, or no rows reached DEFAULT."
                          : "No curves: the source carried no commit times.") +
           "</figure>";
  }
  const XAxis& axis = *time_axis;
  constexpr double kHeight = 340;
  constexpr double kTop = 34;
  const double plot_height = kHeight - kTop - kAxisBelow;

  // Thresholds far above every curve would squash the curves to the floor:
  // those are named under the chart instead of drawn.
  std::vector<int64_t> drawn;
  std::vector<int64_t> above;
  for (int64_t th : t.thresholds) {
    (static_cast<double>(th) <= 3.0 * static_cast<double>(std::max<int64_t>(data_max, 1)) ? drawn
                                                                                          : above)
        .push_back(th);
  }
  double y_max = static_cast<double>(data_max);
  for (int64_t th : drawn) y_max = std::max(y_max, static_cast<double>(th));
  const YAxis y = NiceY(y_max * 1.04);
  auto Y = [&](double v) { return kTop + plot_height * (1 - v / y.max); };

  std::string svg = SvgOpen(kHeight, "Cumulative rows in DEFAULT per value over time");
  DrawYAxis(y, kTop, plot_height, "rows (cumulative)", &svg);
  DrawXAxis(axis, kTop, kTop + plot_height, &svg);

  // Threshold lines, labels at the right end; a label that would overlap
  // the one above it moves to the left end.
  std::vector<double> right_labels;
  svg += "<g class=\"thresholds\">";
  for (int64_t th : drawn) {
    const double py = Y(static_cast<double>(th));
    bool clash = false;
    for (double other : right_labels) clash = clash || std::abs(other - py) < 18;
    const double lx = clash ? kLeft + 6 : kLeft + kPlotWidth - 4;
    if (!clash) right_labels.push_back(py);
    svg += fmt::format(
        "<line class=\"threshold\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>"
        "<text class=\"threshold-label\" x=\"{3}\" y=\"{4}\" text-anchor=\"{5}\">threshold "
        "{6}</text>",
        Num(kLeft), Num(kLeft + kPlotWidth), Num(py), Num(lx), Num(py - 5), clash ? "start" : "end",
        th);
  }
  svg += "</g><g class=\"curves\">";

  std::string legend = "<ul class=\"legend\">";
  for (size_t i = 0; i < t.top_series.size() && i < kMaxSeries; ++i) {
    const Series& s = t.top_series[i];
    if (s.points.empty()) continue;
    // A step line: the count holds until the next commit; before the first
    // it was 0, after the last it holds to the end of the axis.  Points
    // closer than half a unit merge into one (with the later, higher count).
    std::vector<std::pair<double, double>> merged;
    for (const auto& [time, rows] : s.points) {
      const double px = axis.X(time);
      const double py = Y(static_cast<double>(rows));
      if (!merged.empty() && px - merged.back().first < 0.5) {
        merged.back().second = py;
      } else {
        merged.emplace_back(px, py);
      }
    }
    // Where commits are denser than a few units apart the steps would only
    // draw a staircase texture: straight segments between them then.
    const bool steps =
        merged.size() < 2 ||
        (merged.back().first - merged.front().first) / static_cast<double>(merged.size() - 1) >= 6;
    std::string pts = Num(merged.front().first) + "," + Num(Y(0));
    double last_y = Y(0);
    for (const auto& [px, py] : merged) {
      if (steps) pts += " " + Num(px) + "," + Num(last_y);
      pts += " " + Num(px) + "," + Num(py);
      last_y = py;
    }
    pts += " " + Num(kLeft + kPlotWidth) + "," + Num(last_y);
    const int64_t total = s.points.back().second;
    svg += fmt::format(
        "<polyline class=\"curve\" points=\"{}\" stroke=\"{}\"><title>{}: {} rows</title>"
        "</polyline>",
        pts, kPalette[i], EscValue(s.value, kTooltipLabelBytes), Thousands(total));
    legend += "<li>" + Swatch(kPalette[i], false) + "<span class=\"mono\">" +
              EscValue(s.value, kLegendLabelBytes) + "</span> <span class=\"muted\">" +
              Thousands(total) + " rows</span></li>";
  }
  svg += "</g></svg>";
  if (!drawn.empty()) legend += "<li>" + Swatch("#6b7280", true) + "thresholds</li>";
  legend += "</ul>";
  out += svg + legend;
  if (t.top_series.size() > kMaxSeries) {
    out += Note(fmt::format("The {} values with the most rows are drawn.", kMaxSeries));
  }
  if (!above.empty()) {
    std::string names;
    for (int64_t th : above) names += (names.empty() ? "" : ", ") + std::to_string(th);
    out += Note("Not drawn, far above every curve: threshold " + names + ".");
  }
  return out + "</figure>";
}

// ---- chart 2: rows per minute ------------------------------------------

std::string RateChart(const TableReport& t, const std::optional<XAxis>& time_axis) {
  std::string out = "<figure class=\"chart\"><figcaption>Rows into DEFAULT over time ";
  if (!time_axis || t.rows_per_minute.empty()) {
    return out + "</figcaption>" +
           Note(time_axis ? "No rows reached DEFAULT."
                          : "No rates: the source carried no commit times.") +
           "</figure>";
  }
  const XAxis& axis = *time_axis;
  // Buckets of whole minutes, wide enough for at most kMaxBars bars.
  static constexpr int64_t kBucketMinutes[] = {1,   2,   5,   10,   15,   30,    60,    120,
                                               180, 360, 720, 1440, 2880, 10080, 20160, 40320};
  const int64_t span_minutes = static_cast<int64_t>((axis.hi - axis.lo) / kMicrosPerMinute) + 1;
  int64_t bucket = 0;
  for (int64_t m : kBucketMinutes) {
    if (span_minutes / m <= kMaxBars) {
      bucket = m;
      break;
    }
  }
  if (bucket == 0) bucket = (span_minutes / kMaxBars + 1);
  std::map<int64_t, int64_t> rows_by_bucket;
  for (const auto& [minute, rows] : t.rows_per_minute) {
    rows_by_bucket[FloorTo(minute, bucket * kMicrosPerMinute)] += rows;
  }
  int64_t max_rows = 0;
  for (const auto& [start, rows] : rows_by_bucket) max_rows = std::max(max_rows, rows);

  const std::string unit =
      bucket == 1 ? "minute"
                  : (bucket % 1440 == 0
                         ? (bucket == 1440 ? "day" : fmt::format("{} days", bucket / 1440))
                         : (bucket % 60 == 0
                                ? (bucket == 60 ? "hour" : fmt::format("{} hours", bucket / 60))
                                : fmt::format("{} minutes", bucket)));
  out += "<span>rows per " + unit + "</span></figcaption>";

  constexpr double kHeight = 230;
  constexpr double kTop = 30;
  const double plot_height = kHeight - kTop - kAxisBelow;
  const YAxis y = NiceY(static_cast<double>(max_rows) * 1.04);
  std::string svg = SvgOpen(kHeight, "Rows into DEFAULT per time bucket");
  DrawYAxis(y, kTop, plot_height, "rows per " + unit, &svg);
  DrawXAxis(axis, kTop, kTop + plot_height, &svg);
  svg += "<g class=\"bars\">";
  const double plot_right = kLeft + kPlotWidth;
  for (const auto& [start, rows] : rows_by_bucket) {
    const int64_t end = internal::SaturatingAdd(start, bucket * kMicrosPerMinute);
    double x0 = std::max(kLeft, axis.X(start));
    double x1 = std::min(plot_right, axis.X(end));
    if (x1 - x0 > 3) x1 -= 1;  // a hairline gap between wide bars
    const double width = std::max(0.8, x1 - x0);
    const double h = plot_height * static_cast<double>(rows) / y.max;
    const internal::CivilTime e = internal::ToCivil(end);
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} to {:02}:{:02} UTC: {} "
        "rows</title></rect>",
        Num(x0), Num(kTop + plot_height - h), Num(width), Num(h),
        Esc(internal::ShortTime(start).substr(0, 16)), e.hour, e.minute, Thousands(rows));
  }
  svg += "</g></svg>";
  return out + svg + "</figure>";
}

// ---- chart 3: the decisions on a timeline --------------------------------

// A marker centred on (x, y): circle, triangle, diamond or square.
std::string Marker(DecisionKind kind, double x, double y, double r) {
  const char* colour = DecisionColour(kind);
  switch (kind) {
    case DecisionKind::kCreate:
      return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>", Num(x), Num(y),
                         Num(r), colour);
    case DecisionKind::kAlert:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{}\"/>", Num(x), Num(y - r * 1.15),
                         Num(x + r * 1.1), Num(y + r * 0.85), Num(x - r * 1.1), Num(y + r * 0.85),
                         colour);
    case DecisionKind::kMaxFuture:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"{}\"/>", Num(x),
                         Num(y - r * 1.2), Num(x + r * 1.2), Num(y), Num(x), Num(y + r * 1.2),
                         Num(x - r * 1.2), Num(y), colour);
    case DecisionKind::kCapped:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                         Num(x - r * 0.9), Num(y - r * 0.9), Num(r * 1.8), Num(r * 1.8), colour);
  }
  return "";
}

std::string LegendMarker(DecisionKind kind) {
  return "<svg class=\"swatch\" viewBox=\"0 0 14 14\" width=\"14\" height=\"14\" "
         "aria-hidden=\"true\">" +
         Marker(kind, 7, 7, 5) + "</svg>";
}

std::string TimelineChart(const Report& report, const TableReport& t,
                          const std::optional<XAxis>& time_axis) {
  std::string out =
      "<figure class=\"chart\"><figcaption>Decisions <span>when each value crossed each "
      "threshold, and what run would have done</span></figcaption>";
  if (t.thresholds.empty()) return out + Note("No threshold scenarios.") + "</figure>";

  // Times where every crossing has one, WAL positions otherwise.
  bool all_timed = time_axis.has_value();
  bool any_crossing = false;
  uint64_t lsn_lo = UINT64_MAX;
  uint64_t lsn_hi = 0;
  auto add_lsn = [&](Lsn l) {
    if (!l.valid()) return;
    lsn_lo = std::min(lsn_lo, l.value());
    lsn_hi = std::max(lsn_hi, l.value());
  };
  for (const ValueReport& v : t.values) {
    for (const Crossing& c : v.crossings) {
      any_crossing = true;
      all_timed = all_timed && c.time.has_value();
      add_lsn(c.lsn);
    }
  }
  std::optional<XAxis> lsn_axis;
  if (!all_timed) {
    add_lsn(report.first_lsn);
    add_lsn(report.last_lsn);
    if (lsn_lo > lsn_hi) {
      return out + Note("No crossing has a commit time or a WAL position to place it.") +
             "</figure>";
    }
    lsn_axis = LsnAxis(lsn_lo, lsn_hi);
  }
  const XAxis& axis = all_timed ? *time_axis : *lsn_axis;

  constexpr double kLane = 44;
  constexpr double kTop = 30;
  const double lanes_height = kLane * static_cast<double>(t.thresholds.size());
  const double height = kTop + lanes_height + kAxisBelow;
  std::string svg = SvgOpen(height, "Threshold crossings per scenario on a timeline");
  DrawXAxis(axis, kTop, kTop + lanes_height, &svg);

  for (size_t lane = 0; lane < t.thresholds.size(); ++lane) {
    const double top = kTop + kLane * static_cast<double>(lane);
    const double mid = top + kLane / 2;
    svg += fmt::format(
        "<rect class=\"lane{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
        "<line class=\"lane-line\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>"
        "<text class=\"lane-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\"{}>threshold {}</text>",
        lane % 2 == 0 ? "" : " odd", Num(kLeft), Num(top), Num(kPlotWidth), Num(kLane), Num(kLeft),
        Num(mid), Num(kLeft + kPlotWidth), Num(mid), Num(kLeft - 10), Num(mid + 4),
        FitWidth("threshold " + std::to_string(t.thresholds[lane]), kLeft - 16, 12.5),
        t.thresholds[lane]);

    struct Mark {
      double x;
      const ValueReport* value;
      const Crossing* crossing;
    };
    std::vector<Mark> marks;
    for (const ValueReport& v : t.values) {
      const Crossing* c = internal::CrossingAt(v, lane);
      if (c == nullptr || (!all_timed && !c->lsn.valid())) continue;
      const long double at =
          all_timed ? static_cast<long double>(*c->time) : static_cast<long double>(c->lsn.value());
      marks.push_back({axis.X(at), &v, c});
    }
    if (marks.empty()) {
      svg += fmt::format(
          "<text class=\"lane-empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no value crossed "
          "threshold {}</text>",
          Num(kLeft + kPlotWidth / 2), Num(mid + 4), t.thresholds[lane]);
      continue;
    }
    std::stable_sort(marks.begin(), marks.end(),
                     [](const Mark& a, const Mark& b) { return a.x < b.x; });
    // Markers closer than their size stack up and down the lane.
    static constexpr double kOffsets[] = {0, -11, 11};
    double last_x[3] = {-1e9, -1e9, -1e9};
    for (const Mark& m : marks) {
      size_t slot = 0;
      while (slot < 3 && m.x - last_x[slot] < 12) ++slot;
      if (slot == 3) slot = static_cast<size_t>(std::min_element(last_x, last_x + 3) - last_x);
      last_x[slot] = m.x;
      const Crossing& c = *m.crossing;
      const std::string when = c.time ? internal::ShortTime(*c.time) + " UTC" : "no commit time";
      svg += fmt::format(
          "<g class=\"mark\"><title>{}&#10;{} rows at threshold {}&#10;{}, LSN {}&#10;&#8594; "
          "{}</title>{}</g>",
          EscValue(m.value->value, kTooltipLabelBytes), Thousands(c.rows), c.threshold, when,
          c.lsn.valid() ? c.lsn.ToString() : "unknown", DecisionKindName(c.decision),
          Marker(c.decision, m.x, mid + kOffsets[slot], 6));
    }
  }

  // TRUNCATEs: a dashed mark across every lane, labelled where there is room.
  if (all_timed && !t.truncate_times.empty()) {
    svg += "<g class=\"truncates\">";
    double last_label = -1e9;
    for (int64_t tt : t.truncate_times) {
      const double x = axis.X(tt);
      svg += fmt::format(
          "<g><title>TRUNCATE of DEFAULT at {} UTC</title>"
          "<line class=\"truncate\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>"
          "<path class=\"truncate-head\" d=\"M{} {}L{} {}L{} {}Z\"/></g>",
          Esc(internal::ShortTime(tt)), Num(x), Num(kTop - 6), Num(x), Num(kTop + lanes_height),
          Num(x - 5), Num(kTop - 13), Num(x + 5), Num(kTop - 13), Num(x), Num(kTop - 5));
      if (x - last_label > 80) {
        svg += fmt::format(
            "<text class=\"truncate-label\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">TRUNCATE</text>",
            Num(x + (x > kLeft + kPlotWidth - 80 ? -8 : 8)), Num(kTop - 8),
            x > kLeft + kPlotWidth - 80 ? "end" : "start");
        last_label = x;
      }
    }
    svg += "</g>";
  }
  svg += "</svg>";

  std::string legend = "<ul class=\"legend\">";
  for (DecisionKind kind : internal::kAllDecisionKinds) {
    legend += "<li>" + LegendMarker(kind) + DecisionKindName(kind) + "</li>";
  }
  if (all_timed && !t.truncate_times.empty()) {
    legend +=
        "<li><svg class=\"swatch\" viewBox=\"0 0 14 14\" width=\"14\" height=\"14\" "
        "aria-hidden=\"true\"><line class=\"truncate\" x1=\"7\" y1=\"0\" x2=\"7\" "
        "y2=\"14\"/></svg>TRUNCATE of DEFAULT</li>";
  }
  legend += "</ul>";
  out += svg + legend;
  if (!all_timed) {
    out += Note(
        "The x axis is the WAL position (LSN) of each crossing commit: the source carried no "
        "commit times" +
        std::string(time_axis ? " for every crossing." : "."));
    if (t.truncates > 0) {
      out += Note(Plural(t.truncates, "TRUNCATE", "TRUNCATEs") +
                  " of DEFAULT not drawn: a TRUNCATE has a time, not a place on this axis.");
    }
  } else if (t.truncates > static_cast<int64_t>(t.truncate_times.size())) {
    out += Note(Plural(t.truncates - static_cast<int64_t>(t.truncate_times.size()), "TRUNCATE",
                       "TRUNCATEs") +
                " without a commit time not drawn.");
  }
  if (!any_crossing) out += Note("No value crossed any threshold.");
  return out + "</figure>";
}

// ---- tables ------------------------------------------------------------

std::string CrossingCell(const Crossing* c, const Context& ctx) {
  if (c == nullptr) return "<td class=\"never\">never</td>";
  const std::string at = c->time ? TimeText(*c->time, ctx) : "LSN " + c->lsn.ToString();
  return fmt::format(
      "<td class=\"crossing\"><span class=\"badge {}\">{}</span>"
      "<span class=\"at\">{} &#183; {} rows</span></td>",
      DecisionClass(c->decision), DecisionKindName(c->decision), Esc(at), Thousands(c->rows));
}

std::string OptionalTime(const std::optional<int64_t>& t, const Context& ctx) {
  return t ? Esc(TimeText(*t, ctx)) : "&#8211;";
}

std::string ValuesTable(const TableReport& t, const Context& ctx) {
  if (t.values.empty()) return "";
  std::string out =
      "<h3>Top values</h3><div class=\"scroll\"><table class=\"values\"><thead><tr>"
      "<th class=\"num\">#</th><th>value</th><th class=\"num\">rows</th><th>first</th>"
      "<th>last</th>";
  if (!ctx.single_day.empty()) {
    out = "<h3>Top values <span class=\"muted\">times are UTC, on " + Esc(ctx.single_day) +
          "</span></h3>" + out.substr(std::string_view("<h3>Top values</h3>").size());
  }
  for (int64_t th : t.thresholds) out += fmt::format("<th>threshold {}</th>", th);
  out += "</tr></thead><tbody>";
  bool any_approximate = false;
  for (size_t i = 0; i < t.values.size(); ++i) {
    const ValueReport& v = t.values[i];
    any_approximate = any_approximate || v.approximate;
    out += fmt::format(
        "<tr><td class=\"num muted\">{}</td><td class=\"value mono\">{}</td>"
        "<td class=\"num\">{}{}</td><td class=\"time\">{}</td><td class=\"time\">{}</td>",
        i + 1, Esc(v.value.ForLog()), v.approximate ? "~" : "", Thousands(v.rows),
        OptionalTime(v.first_time, ctx), OptionalTime(v.last_time, ctx));
    for (size_t k = 0; k < t.thresholds.size(); ++k)
      out += CrossingCell(internal::CrossingAt(v, k), ctx);
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  if (t.other_values > 0) {
    out += Note("&#8230; and " + Plural(t.other_values, "other value", "other values") +
                " not listed.");
  }
  if (any_approximate) {
    out += Note(
        "~ approximate: more distinct values arrived than max_tracked_values; the count may "
        "include rows of evicted values.");
  }
  return out;
}

std::string Summary(const TableReport& t) {
  std::string out = "<div class=\"stats\">";
  auto stat = [&](const std::string& label, const std::string& value) {
    out += "<div class=\"stat\"><div class=\"stat-label\">" + label +
           "</div><div class=\"stat-value\">" + value + "</div></div>";
  };
  stat("Rows into DEFAULT", Thousands(t.rows));
  stat("Distinct values", Thousands(t.distinct_values));
  stat("TRUNCATEs of DEFAULT", Thousands(t.truncates));
  stat("Threshold scenarios", Thousands(static_cast<int64_t>(t.thresholds.size())));
  out += "</div>";
  if (t.thresholds.empty()) return out;
  const std::vector<DecisionCounts> decisions = internal::ScenarioDecisions(t);
  out += "<table class=\"decisions\"><thead><tr><th>scenario</th>";
  for (DecisionKind kind : internal::kAllDecisionKinds) {
    out += fmt::format("<th class=\"num\">{}{}</th>", LegendMarker(kind), DecisionKindName(kind));
  }
  out += "</tr></thead><tbody>";
  for (size_t i = 0; i < t.thresholds.size(); ++i) {
    out += fmt::format("<tr><th>threshold {}</th>", t.thresholds[i]);
    for (DecisionKind kind : internal::kAllDecisionKinds) {
      const int64_t n = internal::CountOf(decisions[i], kind);
      out += fmt::format("<td class=\"num{}\">{}</td>", n == 0 ? " zero" : "", Thousands(n));
    }
    out += "</tr>";
  }
  out += "</tbody></table>";
  return out;
}

std::string TableSection(const Report& report, const TableReport& t, size_t index,
                         const Context& ctx) {
  std::string out = fmt::format(
      "<section class=\"table\" id=\"table-{}\"><h2><span class=\"mono\">{}</span> "
      "<span class=\"tag\">{}</span></h2>",
      index + 1, EscName(t.name), EscName(t.strategy, 20));
  out += Summary(t);
  out += CumulativeChart(t, ctx.time_axis);
  out += RateChart(t, ctx.time_axis);
  out += TimelineChart(report, t, ctx.time_axis);
  out += ValuesTable(t, ctx);
  return out + "</section>";
}

std::string Header(const Report& report) {
  std::string out =
      "<header class=\"head\"><div class=\"eyebrow\">partwatch replay</div>"
      "<h1>What reached the DEFAULT partitions, and what <code>run</code> would have "
      "done</h1><dl class=\"facts\">";
  auto fact = [&](const char* label, const std::string& value) {
    out += std::string("<div><dt>") + label + "</dt><dd>" + value + "</dd></div>";
  };
  if (report.first_time && report.last_time) {
    const std::string first = internal::ShortTime(*report.first_time);
    const std::string last = internal::ShortTime(*report.last_time);
    const bool same_day = first.substr(0, 10) == last.substr(0, 10);
    fact("Time range (UTC)",
         Esc(same_day ? first.substr(11) : first) + " &#8594; " +
             Esc(same_day ? last.substr(11) : last) + "<div class=\"fact-sub\">" +
             (same_day ? Esc(first.substr(0, 10)) + " &#183; " : std::string()) +
             Esc(internal::Duration(
                 internal::SaturatingSub(*report.last_time, *report.first_time))) +
             "</div>");
  } else {
    fact("Time range", "unknown <span class=\"muted\">(no commit times)</span>");
  }
  fact("LSN range", report.first_lsn.valid() || report.last_lsn.valid()
                        ? "<span class=\"mono\">" + report.first_lsn.ToString() + " &#8594; " +
                              report.last_lsn.ToString() + "</span><div class=\"fact-sub\">" +
                              Bytes(report.last_lsn.value() -
                                    std::min(report.first_lsn, report.last_lsn).value()) +
                              " of WAL</div>"
                        : std::string("unknown"));
  fact("Committed transactions", Thousands(report.transactions));
  fact("Tables", Thousands(static_cast<int64_t>(report.tables.size())));
  out += "</dl>";
  if (report.sources.empty()) {
    out += Note("No sources.");
  } else {
    out +=
        "<table class=\"sources\"><thead><tr><th>source</th><th>kind</th>"
        "<th class=\"num\">records</th><th class=\"num\">skipped</th><th>warnings</th>"
        "</tr></thead><tbody>";
    for (const SourceReport& s : report.sources) {
      std::string warnings;
      for (size_t i = 0; i < s.warnings.size() && i < 20; ++i) {
        warnings += "<div>" + EscName(s.warnings[i], 300) + "</div>";
      }
      if (s.warnings.size() > 20) {
        warnings += "<div class=\"muted\">and " +
                    Thousands(static_cast<int64_t>(s.warnings.size() - 20)) + " more</div>";
      }
      out += "<tr><td class=\"mono\">" + EscName(s.name) + "</td><td>" + EscName(s.kind, 20) +
             "</td><td class=\"num\">" + Thousands(s.records) + "</td><td class=\"num\">" +
             Thousands(s.skipped) + "</td><td class=\"warnings\">" +
             (warnings.empty() ? "<span class=\"muted\">none</span>" : warnings) + "</td></tr>";
    }
    out += "</tbody></table>";
  }
  if (report.tables.size() > 1) {
    out += "<nav class=\"toc\">";
    for (size_t i = 0; i < report.tables.size(); ++i) {
      out += fmt::format("<a href=\"#table-{}\">{}</a>", i + 1, EscName(report.tables[i].name, 80));
    }
    out += "</nav>";
  }
  return out + "</header>";
}

constexpr const char* kStyle = R"css(
:root{--ink:#1f2933;--muted:#667085;--line:#e4e7ec;--soft:#f8fafc;--bg:#f2f4f7}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
.page{max-width:1200px;margin:0 auto;padding:32px 24px 48px}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.92em}
.muted{color:var(--muted)}
.head{margin-bottom:8px}
.eyebrow{font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{font-size:24px;line-height:1.25;font-weight:650;margin:4px 0 20px}
h2{font-size:19px;font-weight:650;margin:0 0 16px;display:flex;align-items:center;gap:10px;overflow-wrap:anywhere}
h3{font-size:15px;font-weight:650;margin:28px 0 8px}
h3 .muted{font-size:13px;font-weight:400;margin-left:6px}
.tag{font-size:12px;font-weight:600;color:#344054;border:1px solid #d0d5dd;border-radius:999px;padding:1px 9px;text-transform:uppercase;letter-spacing:.05em}
.facts{display:grid;grid-template-columns:1.3fr 1.3fr 1fr 1fr;gap:12px;margin:0 0 16px}
.fact-sub{font-size:12px;font-weight:400;color:var(--muted);margin-top:1px}
.facts>div,.stat{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.facts dt,.stat-label{font-size:12px;color:var(--muted);font-weight:500}
.facts dd{margin:2px 0 0;font-size:15px;font-weight:600}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:12px;font-weight:600;color:var(--muted);border-bottom:1px solid #d0d5dd;white-space:nowrap}
.num{text-align:right;white-space:nowrap}
table.sources{background:#fff;border:1px solid var(--line);border-radius:8px}
.warnings div{color:#b54708;overflow-wrap:anywhere}
.toc{display:flex;flex-wrap:wrap;gap:6px 16px;margin:14px 0 0;font-size:13px}
.toc a{color:#175cd3;text-decoration:none}
section.table{background:#fff;border:1px solid var(--line);border-radius:12px;padding:24px 24px 20px;margin:24px 0}
.stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin-bottom:14px}
.stat{background:var(--soft)}
.stat-value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
table.decisions{width:auto;min-width:60%}
table.decisions th:first-child{white-space:nowrap;padding-right:36px}
table.decisions td,table.decisions thead th.num{padding-left:28px}
table.decisions td.zero{color:#98a2b3}
table.decisions thead .swatch{margin-right:5px;vertical-align:-2px}
figure.chart{margin:26px 0 0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-weight:650;font-size:15px;margin-bottom:4px}
figcaption span{font-weight:400;color:var(--muted);font-size:13px;margin-left:6px}
svg.plot{display:block;width:100%;height:auto;overflow:visible}
svg.plot text{font-size:12px;fill:#475467;font-family:inherit}
svg.plot text.sub{fill:#667085;font-size:11px}
svg.plot text.axis-title{fill:#667085;font-size:11.5px;font-weight:600}
.grid{stroke:#eef0f3;stroke-width:1}
.axis{stroke:#98a2b3;stroke-width:1}
.tick{stroke:#98a2b3}
.threshold{stroke:#475467;stroke-width:1.2;stroke-dasharray:6 4}
svg.plot text.threshold-label{fill:#344054;font-size:11.5px;font-weight:600;stroke:#fff;stroke-width:3px;paint-order:stroke;stroke-linejoin:round}
.curve{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.bars rect{fill:#4e79a7}
.bars rect:hover{fill:#2f5686}
.lane{fill:#fff}
.lane.odd{fill:var(--soft)}
.lane-line{stroke:#e4e7ec;stroke-dasharray:2 3}
svg.plot text.lane-label{font-weight:600;fill:#344054}
svg.plot text.lane-empty{fill:#98a2b3;font-size:11.5px}
.mark path,.mark circle,.mark rect{stroke:#fff;stroke-width:1}
.truncate{stroke:#475467;stroke-width:1.2;stroke-dasharray:3 3}
.truncate-head{fill:#475467}
svg.plot text.truncate-label{font-size:11px;font-weight:600;fill:#475467;letter-spacing:.04em}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0 0 124px;padding:0;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px;max-width:100%;overflow-wrap:anywhere}
.swatch{flex:none;vertical-align:middle}
.note{color:var(--muted);font-size:13px;margin:6px 0 0}
.scroll{overflow-x:auto}
table.values{font-size:13px}
table.values td.value{min-width:180px;max-width:340px;overflow-wrap:anywhere}
table.values td.time{white-space:nowrap;color:#475467}
table.values td.never{color:#98a2b3}
.badge{display:inline-block;font-size:11.5px;font-weight:600;line-height:18px;border:1px solid currentColor;border-radius:4px;padding:0 6px;margin-right:8px}
.badge.create{color:#2e7d32;background:#edf7ee}
.badge.alert{color:#b45309;background:#fef6e7}
.badge.max-future{color:#6d28d9;background:#f3effe}
.badge.capped{color:#c62828;background:#fdeeee}
.at{display:block;color:#475467;font-size:12px;white-space:nowrap;margin-top:2px}
tbody tr:hover td{background:#fafbfc}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media (max-width:900px){.facts,.stats{grid-template-columns:repeat(2,minmax(0,1fr))}.legend{margin-left:0}}
@media print{
body{background:#fff;font-size:10.5pt}
.page{max-width:none;padding:0}
section.table{border:none;border-radius:0;padding:0;margin:18pt 0;break-before:page}
section.table:first-of-type{break-before:auto}
.facts div,.stat,table.sources{border-color:#cfd4dc;background:#fff}
figure.chart,table.decisions,.stats{break-inside:avoid;page-break-inside:avoid}
tr{break-inside:avoid;page-break-inside:avoid}
.badge{background:#fff!important}
.lane.odd{fill:#f7f7f7}
svg.plot{-webkit-print-color-adjust:exact;print-color-adjust:exact}
tbody tr:hover td{background:none}
.toc{display:none}
.scroll{overflow:visible}
table.values{font-size:8.5pt}
table.values td.value{min-width:0}
th,td{padding:4px 6px}
.at{white-space:normal}
.legend{margin-left:0}
}
)css";

}  // namespace

std::string RenderHtml(const Report& report) {
  Context ctx;
  if (const auto range = TimeRange(report)) {
    ctx.time_axis = TimeAxis(range->first, range->second);
    if (DateOf(range->first) == DateOf(range->second)) ctx.single_day = DateOf(range->first);
  }

  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>partwatch replay report</title><style>";
  out += kStyle;
  out += "</style></head><body><main class=\"page\">";
  out += Header(report);
  if (report.tables.empty()) {
    out += "<section class=\"table\">" + Note("No tables in this report: nothing was replayed.") +
           "</section>";
  }
  for (size_t i = 0; i < report.tables.size(); ++i) {
    out += TableSection(report, report.tables[i], i, ctx);
  }
  out +=
      "<footer>partwatch replay. Times are UTC. Counts are committed rows that reached a "
      "DEFAULT partition; crossings are what <code>partwatch run</code> would have decided with "
      "each threshold.</footer></main></body></html>\n";
  return out;
}

}  // namespace partwatch::replay
