// The text report: what `partwatch replay` prints by default, for an
// operator at a terminal.  Every value goes through KeyValue::ForLog() and
// every other string from the input through Printable(), so no byte of the
// replayed data can start a line of its own or move the cursor.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "src/replay/render_util.h"
#include "src/replay/report.h"

namespace partwatch::replay {

namespace {

using internal::Printable;
using internal::ShortTime;
using internal::Thousands;

// Terminal columns taken by `s`: one per UTF-8 character (wide characters
// are rare in keys and counted as one).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// A table of aligned columns, two spaces apart; trailing blanks trimmed.
class Columns {
 public:
  explicit Columns(std::vector<bool> right_aligned) : right_(std::move(right_aligned)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string Render(const std::string& indent) const {
    std::vector<size_t> widths(right_.size(), 0);
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
        widths[i] = std::max(widths[i], Width(row[i]));
      }
    }
    std::string out;
    for (const auto& row : rows_) {
      std::string line = indent;
      for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
        const std::string pad(widths[i] - Width(row[i]), ' ');
        if (i > 0) line += "  ";
        line += right_[i] ? pad + row[i] : row[i] + pad;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string CrossingText(const Crossing* c) {
  if (c == nullptr) return "never";
  const std::string at = c->time ? ShortTime(*c->time) : "LSN " + c->lsn.ToString();
  return fmt::format("crossed at {} ({} rows) \xE2\x86\x92 {}", at, Thousands(c->rows),
                     DecisionKindName(c->decision));
}

std::string OptionalTime(const std::optional<int64_t>& t) { return t ? ShortTime(*t) : "-"; }

void Header(const Report& report, std::string* out) {
  *out += "partwatch replay report\n\n";
  if (report.sources.empty()) {
    *out += "Sources       none\n";
  } else {
    Columns sources({false, false, true, false});
    for (const SourceReport& s : report.sources) {
      sources.Add({Printable(s.kind), Printable(s.name), Thousands(s.records) + " records",
                   fmt::format("{} skipped, {} warning{}", Thousands(s.skipped),
                               Thousands(static_cast<int64_t>(s.warnings.size())),
                               s.warnings.size() == 1 ? "" : "s")});
    }
    *out += "Sources\n" + sources.Render("  ");
    for (const SourceReport& s : report.sources) {
      for (const std::string& w : s.warnings) {
        *out += "  warning (" + Printable(s.name) + "): " + Printable(w) + "\n";
      }
    }
  }
  *out += "LSN range     ";
  *out += report.first_lsn.valid() || report.last_lsn.valid()
              ? report.first_lsn.ToString() + " .. " + report.last_lsn.ToString()
              : std::string("unknown");
  *out += "\nTime range    ";
  if (report.first_time && report.last_time) {
    *out += FormatTime(*report.first_time) + " .. " + FormatTime(*report.last_time) + " (" +
            internal::Duration(internal::SaturatingSub(*report.last_time, *report.first_time)) +
            ")";
  } else {
    *out += "unknown (the source carried no commit times)";
  }
  *out += "\nTransactions  " + Thousands(report.transactions) + " committed\n";
}

void Table(const TableReport& t, std::string* out) {
  std::string thresholds;
  for (int64_t th : t.thresholds)
    thresholds += (thresholds.empty() ? "" : ", ") + std::to_string(th);
  *out += "\n" + Printable(t.name) + " (" + Printable(t.strategy) + "; threshold" +
          (t.thresholds.size() == 1 ? " " : "s ") + (thresholds.empty() ? "none" : thresholds) +
          ")\n";
  std::string truncates = Thousands(t.truncates);
  if (!t.truncate_times.empty()) {
    std::string at;
    for (size_t i = 0; i < t.truncate_times.size() && i < 5; ++i) {
      at += (i > 0 ? ", " : "") + ShortTime(t.truncate_times[i]);
    }
    if (t.truncate_times.size() > 5) at += ", ...";
    truncates += " (" + at + ")";
  }
  Columns facts({false, true});
  facts.Add({"rows into DEFAULT", Thousands(t.rows)});
  facts.Add({"distinct values", Thousands(t.distinct_values)});
  facts.Add({"truncates", truncates});
  *out += facts.Render("  ");

  if (!t.values.empty()) {
    std::vector<bool> right = {false, true, false, false};
    std::vector<std::string> head = {"value", "rows", "first", "last"};
    for (int64_t th : t.thresholds) {
      right.push_back(false);
      head.push_back(fmt::format("threshold {}", th));
    }
    Columns values(right);
    values.Add(head);
    bool any_approximate = false;
    for (const ValueReport& v : t.values) {
      std::vector<std::string> row = {v.value.ForLog(),
                                      (v.approximate ? "~" : "") + Thousands(v.rows),
                                      OptionalTime(v.first_time), OptionalTime(v.last_time)};
      for (size_t k = 0; k < t.thresholds.size(); ++k)
        row.push_back(CrossingText(internal::CrossingAt(v, k)));
      values.Add(std::move(row));
      any_approximate = any_approximate || v.approximate;
    }
    *out += "\n" + values.Render("  ");
    if (t.other_values > 0) {
      *out += "  ... and " + Thousands(t.other_values) + " other value" +
              (t.other_values == 1 ? "" : "s") + " not listed\n";
    }
    if (any_approximate) {
      *out +=
          "  ~ approximate: more values than max_tracked_values arrived; the count may include "
          "rows of evicted values\n";
    }
  } else if (t.rows == 0) {
    *out += "\n  no rows reached DEFAULT\n";
  }

  const std::vector<DecisionCounts> decisions = internal::ScenarioDecisions(t);
  if (!t.thresholds.empty()) *out += "\n";
  for (size_t i = 0; i < t.thresholds.size(); ++i) {
    *out += "  " + internal::SummaryLine(t.thresholds[i], decisions[i]) + "\n";
  }
}

}  // namespace

std::string RenderText(const Report& report) {
  std::string out;
  Header(report, &out);
  if (report.tables.empty()) out += "\nNo tables in this report.\n";
  for (const TableReport& t : report.tables) Table(t, &out);
  return out;
}

}  // namespace partwatch::replay
