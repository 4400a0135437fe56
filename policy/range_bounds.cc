#include "policy/range_bounds.h"

#include "policy/calendar.h"
#include "policy/internal.h"

namespace partwatch::policy {

namespace {

using internal::AsciiUpper;
using internal::Corrupt;
using internal::IsDigit;

// PostgreSQL refuses UTC offsets of 16 hours or more (MAX_TZDISP_HOUR).
constexpr int64_t kMaxOffsetHours = 15;

// Reads between min_digits and max_digits decimal digits at `pos`; fails on
// fewer or on more (a 10-digit year is not a 9-digit one).
bool ReadNumber(std::string_view s, size_t& pos, size_t min_digits, size_t max_digits,
                int64_t* out) {
  size_t n = 0;
  int64_t v = 0;
  while (pos + n < s.size() && IsDigit(s[pos + n])) {
    if (n == max_digits) return false;
    v = v * 10 + (s[pos + n] - '0');
    ++n;
  }
  if (n < min_digits) return false;
  pos += n;
  *out = v;
  return true;
}

bool Eat(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  size_t pos = 0;
  const bool negative = Eat(text, pos, '-');
  if (pos == text.size()) return std::nullopt;
  // Accumulate the magnitude; INT64_MIN's magnitude is one more than MAX's.
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t magnitude = 0;
  for (; pos < text.size(); ++pos) {
    if (!IsDigit(text[pos])) return std::nullopt;
    const auto digit = static_cast<uint64_t>(text[pos] - '0');
    if (magnitude > (limit - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  if (!negative) return static_cast<int64_t>(magnitude);
  return magnitude == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min()
                                          : -static_cast<int64_t>(magnitude);
}

// YYYY-MM-DD[ HH:MM:SS[.f]][offset] as DateStyle ISO prints it.  Which parts
// are required or allowed depends on the type and domain.
std::optional<int64_t> ParseDateTime(RangeKeyType type, TzDomain domain, std::string_view text) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0;
  // At least 4 year digits: PostgreSQL reads a 2-digit year as 19xx/20xx.
  if (!ReadNumber(text, pos, 4, 9, &year) || !Eat(text, pos, '-') ||
      !ReadNumber(text, pos, 2, 2, &month) || !Eat(text, pos, '-') ||
      !ReadNumber(text, pos, 2, 2, &day)) {
    return std::nullopt;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  Int128 point = Int128{DaysFromCivil(year, month, day)} * kMicrosPerDay;
  if (type == RangeKeyType::kDate) {
    if (pos != text.size()) return std::nullopt;
    return ToInt64(point);
  }

  int64_t hour = 0, minute = 0, second = 0, fraction = 0;
  if (!Eat(text, pos, ' ') || !ReadNumber(text, pos, 2, 2, &hour) || !Eat(text, pos, ':') ||
      !ReadNumber(text, pos, 2, 2, &minute) || !Eat(text, pos, ':') ||
      !ReadNumber(text, pos, 2, 2, &second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  if (Eat(text, pos, '.')) {
    const size_t start = pos;
    if (!ReadNumber(text, pos, 1, 6, &fraction)) return std::nullopt;
    for (size_t n = pos - start; n < 6; ++n) fraction *= 10;
  }
  point += hour * kMicrosPerHour + minute * kMicrosPerMinute + second * kMicrosPerSecond + fraction;

  if (type == RangeKeyType::kTimestampTz && pos < text.size()) {
    const char sign = text[pos];
    if (sign != '+' && sign != '-') return std::nullopt;
    ++pos;
    int64_t off_hour = 0, off_minute = 0, off_second = 0;
    if (!ReadNumber(text, pos, 2, 2, &off_hour)) return std::nullopt;
    if (Eat(text, pos, ':')) {
      if (!ReadNumber(text, pos, 2, 2, &off_minute)) return std::nullopt;
      if (Eat(text, pos, ':') && !ReadNumber(text, pos, 2, 2, &off_second)) return std::nullopt;
    }
    if (off_hour > kMaxOffsetHours || off_minute > 59 || off_second > 59) return std::nullopt;
    if (pos != text.size()) return std::nullopt;
    if (domain == TzDomain::kUtc) {
      const int64_t offset =
          off_hour * kMicrosPerHour + off_minute * kMicrosPerMinute + off_second * kMicrosPerSecond;
      point -= sign == '+' ? offset : -offset;
    }
  } else if (type == RangeKeyType::kTimestampTz && domain == TzDomain::kUtc) {
    return std::nullopt;  // no offset: which instant is meant depends on the zone
  }
  if (pos != text.size()) return std::nullopt;
  if (point < kMinTimePoint) return std::nullopt;
  return ToInt64(point);
}

// ---- pg_get_expr(relpartbound) ----

// One side of FROM (...) TO (...).
struct BoundDatum {
  enum class Kind { kMinValue, kMaxValue, kLiteral } kind = Kind::kLiteral;
  std::string text;  // kLiteral: the literal's contents ('' unescaped), or a bare number
};

class BoundParser {
 public:
  explicit BoundParser(std::string_view s) : s_(s) {}

  // Consumes `keyword` (case-insensitive) when it is the next word.
  bool Keyword(std::string_view keyword) {
    SkipSpaces();
    if (s_.size() - pos_ < keyword.size()) return false;
    for (size_t i = 0; i < keyword.size(); ++i) {
      if (AsciiUpper(s_[pos_ + i]) != keyword[i]) return false;
    }
    const size_t end = pos_ + keyword.size();
    if (end < s_.size() && IsWordByte(s_[end])) return false;
    pos_ = end;
    return true;
  }

  bool Punct(char c) {
    SkipSpaces();
    return Eat(s_, pos_, c);
  }

  bool AtEnd() {
    SkipSpaces();
    return pos_ == s_.size();
  }

  // MINVALUE | MAXVALUE | 'literal' [::type] | number [::type]
  std::optional<BoundDatum> Datum() {
    BoundDatum d;
    if (Keyword("MINVALUE")) {
      d.kind = BoundDatum::Kind::kMinValue;
      return d;
    }
    if (Keyword("MAXVALUE")) {
      d.kind = BoundDatum::Kind::kMaxValue;
      return d;
    }
    SkipSpaces();
    if (Eat(s_, pos_, '\'')) {
      for (;;) {
        if (pos_ == s_.size()) return std::nullopt;  // unterminated
        const char c = s_[pos_++];
        if (c == '\'') {
          if (!Eat(s_, pos_, '\'')) break;  // '' is a quote; a lone ' ends it
        }
        d.text += c;
      }
    } else {
      while (pos_ < s_.size() &&
             (IsDigit(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '.')) {
        d.text += s_[pos_++];
      }
      if (d.text.empty()) return std::nullopt;
    }
    SkipSpaces();
    if (s_.substr(pos_).starts_with("::")) {
      pos_ += 2;
      if (!TypeName()) return std::nullopt;
    }
    return d;
  }

 private:
  static bool IsWordByte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_';
  }

  void SkipSpaces() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }

  // A type name as format_type() prints it: words ("timestamp with time
  // zone"), a schema qualifier, a "quoted" word, a typmod "(6)", "[]".
  bool TypeName() {
    size_t words = 0;
    for (;;) {
      SkipSpaces();
      if (pos_ == s_.size()) break;
      const char c = s_[pos_];
      if (IsWordByte(c) || c == '.') {
        while (pos_ < s_.size() && (IsWordByte(s_[pos_]) || s_[pos_] == '.')) ++pos_;
        ++words;
      } else if (c == '"') {
        const size_t close = s_.find('"', pos_ + 1);
        if (close == std::string_view::npos) return false;
        pos_ = close + 1;
        ++words;
      } else if (c == '(' && words > 0) {
        ++pos_;
        while (pos_ < s_.size() && (IsDigit(s_[pos_]) || s_[pos_] == ',' || s_[pos_] == ' ')) {
          ++pos_;
        }
        if (!Eat(s_, pos_, ')')) return false;
      } else if (c == '[' && words > 0) {
        ++pos_;
        if (!Eat(s_, pos_, ']')) return false;
      } else {
        break;
      }
    }
    return words > 0;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// A parsed bound: its point, literal, and whether it is unbounded
// (MINVALUE, MAXVALUE, or an infinite date/timestamp).
struct BoundPoint {
  int64_t point = 0;
  std::string literal;
  bool unbounded = false;
};

std::optional<BoundPoint> ResolveDatum(RangeKeyType type, TzDomain domain, const BoundDatum& d) {
  if (d.kind == BoundDatum::Kind::kMinValue) return BoundPoint{kMinValuePoint, "", true};
  if (d.kind == BoundDatum::Kind::kMaxValue) return BoundPoint{kMaxValuePoint, "", true};
  if (type != RangeKeyType::kInteger) {
    // No finite value lies below '-infinity' or at/after 'infinity', so for
    // the finite values partwatch buckets they act as MINVALUE / MAXVALUE.
    if (d.text == "-infinity") return BoundPoint{kMinValuePoint, "", true};
    if (d.text == "infinity") return BoundPoint{kMaxValuePoint, "", true};
  }
  const std::optional<int64_t> point = ParseRangePoint(type, domain, d.text);
  if (!point) return std::nullopt;
  const bool keep_text = type == RangeKeyType::kTimestampTz && domain == TzDomain::kCivil;
  return BoundPoint{*point, keep_text ? d.text : FormatRangePoint(type, domain, *point), false};
}

}  // namespace

std::optional<int64_t> ParseRangePoint(RangeKeyType type, TzDomain domain, std::string_view text) {
  if (type == RangeKeyType::kInteger) return ParseInteger(text);
  return ParseDateTime(type, domain, text);
}

std::string FormatRangePoint(RangeKeyType type, TzDomain domain, int64_t point) {
  if (type == RangeKeyType::kInteger) return std::to_string(point);
  const CivilTime t = CivilFromPoint(point);
  std::string out =
      ZeroPad(t.date.year, 4) + "-" + ZeroPad(t.date.month, 2) + "-" + ZeroPad(t.date.day, 2);
  if (type == RangeKeyType::kDate) return out;
  out += " " + ZeroPad(t.hour, 2) + ":" + ZeroPad(t.minute, 2) + ":" + ZeroPad(t.second, 2);
  if (t.micros != 0) {
    std::string fraction = ZeroPad(t.micros, 6);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    out += "." + fraction;
  }
  if (type == RangeKeyType::kTimestampTz && domain == TzDomain::kUtc) out += "+00";
  return out;
}

Result<ExistingPartition> ParsePartitionBound(RangeKeyType type, TzDomain domain,
                                              std::string_view bound_text) {
  const std::string quoted = "\"" + std::string(bound_text) + "\"";
  auto fail = [&quoted](const std::string& what) {
    return Corrupt("partition bound " + quoted + ": " + what);
  };
  BoundParser p(bound_text);
  if (p.Keyword("DEFAULT")) return fail("a DEFAULT partition has no range");
  if (!p.Keyword("FOR") || !p.Keyword("VALUES")) return fail("expected FOR VALUES");
  if (p.Keyword("IN") || p.Keyword("WITH")) return fail("not a RANGE partition bound");
  std::optional<BoundDatum> from, to;
  if (!p.Keyword("FROM") || !p.Punct('(') || !(from = p.Datum())) {
    return fail("expected FROM (<value>)");
  }
  if (p.Punct(',')) return fail("multi-column range bounds are not supported");
  if (!p.Punct(')') || !p.Keyword("TO") || !p.Punct('(') || !(to = p.Datum())) {
    return fail("expected FROM (<value>) TO (<value>)");
  }
  if (p.Punct(',')) return fail("multi-column range bounds are not supported");
  if (!p.Punct(')') || !p.AtEnd()) return fail("unexpected text after TO (<value>)");

  const std::string type_name(RangeKeyTypeName(type));
  const std::optional<BoundPoint> lo = ResolveDatum(type, domain, *from);
  if (!lo) return fail("cannot read '" + from->text + "' as a " + type_name);
  const std::optional<BoundPoint> hi = ResolveDatum(type, domain, *to);
  if (!hi) return fail("cannot read '" + to->text + "' as a " + type_name);
  // FROM ('infinity') TO (MAXVALUE) is legal and holds no finite value: keep
  // it (empty) rather than fail the table; it can clip nothing.
  if (lo->point > hi->point || (lo->point == hi->point && !lo->unbounded && !hi->unbounded)) {
    return fail("empty range");
  }
  return ExistingPartition{lo->point, hi->point, lo->literal, hi->literal};
}

}  // namespace partwatch::policy
