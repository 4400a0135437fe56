// The CSV report: docs/replay.md, "CSV columns".  RFC 4180: CRLF line ends,
// a field holding a comma, a double quote, CR or LF is quoted and its quotes
// doubled.  Values are data and are written as they are: one starting with
// = + - @ is not rewritten, so a spreadsheet may read it as a formula
// (docs/replay.md says so).
#include <string>

#include "src/replay/render_util.h"
#include "src/replay/report.h"

namespace partwatch::replay {

namespace {

constexpr const char* kHeader =
    "table,value,is_null,rows,first_time,last_time,threshold,crossed_rows,crossed_lsn,"
    "crossed_time,decision";

std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string TimeField(const std::optional<int64_t>& t) { return t ? FormatTime(*t) : ""; }

}  // namespace

std::string RenderCsv(const Report& report) {
  std::string out = std::string(kHeader) + "\r\n";
  for (const TableReport& t : report.tables) {
    for (const ValueReport& v : t.values) {
      const std::string lead = Field(t.name) + "," + Field(v.value.text.value_or("")) + "," +
                               (v.value.is_null() ? "true" : "false") + "," +
                               std::to_string(v.rows) + "," + TimeField(v.first_time) + "," +
                               TimeField(v.last_time) + ",";
      if (t.thresholds.empty()) {
        out += lead + ",,,,\r\n";  // no scenario: the value's own fields only
        continue;
      }
      for (size_t k = 0; k < t.thresholds.size(); ++k) {
        out += lead + std::to_string(t.thresholds[k]) + ",";
        if (const Crossing* c = internal::CrossingAt(v, k)) {
          out += std::to_string(c->rows) + "," + (c->lsn.valid() ? c->lsn.ToString() : "") + "," +
                 TimeField(c->time) + "," + DecisionKindName(c->decision);
        } else {
          out += ",,,";
        }
        out += "\r\n";
      }
    }
  }
  return out;
}

}  // namespace partwatch::replay
