#include "policy/range.h"

#include <algorithm>
#include <cstdio>

#include "policy/naming.h"

namespace partwatch::policy {

namespace {

// 128-bit intermediates make every alignment formula overflow-free; results
// are range-checked back into int64 (ToInt64).  __extension__ keeps
// -Wpedantic quiet about the GCC/Clang type.
__extension__ using Int128 = __int128;

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// Years beyond this are far outside int64 microseconds either way; the limit
// only keeps the day arithmetic below in range.
constexpr int64_t kMaxAbsYear = 1'000'000;

// PostgreSQL refuses UTC offsets of 16 hours or more (MAX_TZDISP_HOUR).
constexpr int64_t kMaxOffsetHours = 15;

template <typename T>
constexpr T FloorDiv(T a, T b) {  // REQUIRES: b > 0
  const T q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

template <typename T>
constexpr T FloorMod(T a, T b) {  // REQUIRES: b > 0
  return a - FloorDiv(a, b) * b;
}

std::optional<int64_t> ToInt64(Int128 v) {
  if (v < std::numeric_limits<int64_t>::min() || v > std::numeric_limits<int64_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian,
// day 0 = 1970-01-01), http://howardhinnant.github.io/date_algorithms.html.
// REQUIRES: |year| <= kMaxAbsYear-ish (no overflow in int64).
constexpr int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv<int64_t>(year, 400);
  const int64_t yoe = year - era * 400;                                               // [0, 399]
  const int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                          // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};

constexpr CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv<int64_t>(days, 146097);
  const int64_t doe = days - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// The smallest time point: 0001-01-01 00:00 (there is no year 0, and BC
// literals are not produced).
constexpr int64_t kMinTimePoint = DaysFromCivil(1, 1, 1) * kMicrosPerDay;
static_assert(kMinTimePoint == -719162 * kMicrosPerDay);

bool IsLeapYear(int64_t year) {
  return FloorMod<int64_t>(year, 4) == 0 &&
         (FloorMod<int64_t>(year, 100) != 0 || FloorMod<int64_t>(year, 400) == 0);
}

int64_t DaysInMonth(int64_t year, int64_t month) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

struct CivilTime {
  CivilDate date;
  int64_t hour, minute, second, micros;
};

CivilTime CivilFromPoint(int64_t point) {
  const int64_t days = FloorDiv(point, kMicrosPerDay);
  int64_t rest = FloorMod(point, kMicrosPerDay);
  CivilTime t{CivilFromDays(days), 0, 0, 0, 0};
  t.hour = rest / kMicrosPerHour;
  rest %= kMicrosPerHour;
  t.minute = rest / kMicrosPerMinute;
  rest %= kMicrosPerMinute;
  t.second = rest / kMicrosPerSecond;
  t.micros = rest % kMicrosPerSecond;
  return t;
}

struct IsoWeekDate {
  int64_t year;
  int64_t week;  // 1..53
};

IsoWeekDate IsoWeekOfDays(int64_t days) {
  // ISO weekday 1 (Monday) .. 7; day 0 (1970-01-01) was a Thursday.
  const int64_t weekday = FloorMod<int64_t>(days + 3, 7) + 1;
  // The ISO year is the year of the week's Thursday.
  const int64_t thursday = days - weekday + 4;
  const int64_t year = CivilFromDays(thursday).year;
  return IsoWeekDate{year, (thursday - DaysFromCivil(year, 1, 1)) / 7 + 1};
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsIdentifierByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

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

// The first instant (00:00) of month index `mi` (year * 12 + month - 1).
std::optional<int64_t> MonthStart(Int128 mi) {
  const Int128 year = FloorDiv<Int128>(mi, 12);
  if (year > kMaxAbsYear || year < -kMaxAbsYear) return std::nullopt;
  const int64_t month = static_cast<int64_t>(FloorMod<Int128>(mi, 12)) + 1;
  return ToInt64(Int128{DaysFromCivil(static_cast<int64_t>(year), month, 1)} * kMicrosPerDay);
}

int64_t MonthIndexOf(int64_t point) {
  const CivilDate d = CivilFromDays(FloorDiv(point, kMicrosPerDay));
  return d.year * 12 + d.month - 1;
}

Error Corrupt(std::string message) { return Error{Error::Kind::kCorrupt, std::move(message)}; }

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

// ---- Names ----

// ASCII lower-case, then every byte outside [a-z0-9_] becomes '_'.
std::string Reduce(std::string_view text) { return ReduceToIdentifierBytes(text); }

// A literal as a name part: a negative integer's '-' becomes 'm' (so -10 and
// 10 differ), the rest is reduced.
std::string ReduceLiteral(std::string_view literal) {
  if (literal.starts_with('-')) return "m" + Reduce(literal.substr(1));
  return Reduce(literal);
}

std::string Pad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(v));
  return buf;
}

// to_char(point, fmt) for the supported subset.
std::string ToChar(int64_t point, std::string_view fmt) {
  const CivilTime t = CivilFromPoint(point);
  const IsoWeekDate iso = IsoWeekOfDays(FloorDiv(point, kMicrosPerDay));
  std::string out;
  auto at = [&fmt](size_t i, std::string_view pattern) {
    if (fmt.size() - i < pattern.size()) return false;
    for (size_t k = 0; k < pattern.size(); ++k) {
      if (AsciiUpper(fmt[i + k]) != pattern[k]) return false;
    }
    return true;
  };
  size_t i = 0;
  // Appends `value` zero-padded to `width` digits and skips a pattern of
  // `length` bytes.
  auto emit = [&out, &i](int64_t value, int width, size_t length) {
    out += Pad(value, width);
    i += length;
  };
  while (i < fmt.size()) {
    if (fmt[i] == '"') {
      // Quoted text is copied; inside it, \" is a quote (as in to_char).
      for (++i; i < fmt.size() && fmt[i] != '"'; ++i) {
        if (fmt[i] == '\\' && i + 1 < fmt.size()) ++i;
        out += fmt[i];
      }
      ++i;
    } else if (at(i, "IYYY")) {
      emit(iso.year, 4, 4);
    } else if (at(i, "YYYY")) {
      emit(t.date.year, 4, 4);
    } else if (at(i, "HH24")) {
      emit(t.hour, 2, 4);
    } else if (at(i, "MM")) {
      emit(t.date.month, 2, 2);
    } else if (at(i, "MI")) {
      emit(t.minute, 2, 2);
    } else if (at(i, "DD")) {
      emit(t.date.day, 2, 2);
    } else if (at(i, "SS")) {
      emit(t.second, 2, 2);
    } else if (at(i, "IW")) {
      emit(iso.week, 2, 2);
    } else if (at(i, "Q")) {
      emit((t.date.month - 1) / 3 + 1, 1, 1);
    } else {
      out += fmt[i++];
    }
  }
  return out;
}

constexpr std::string_view kFormatCodes = "YmdHMSGVq";

// strftime-like FMT of a name template.  REQUIRES: codes in kFormatCodes.
std::string FormatName(int64_t point, std::string_view fmt) {
  const CivilTime t = CivilFromPoint(point);
  const IsoWeekDate iso = IsoWeekOfDays(FloorDiv(point, kMicrosPerDay));
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out += fmt[i];
      continue;
    }
    switch (fmt[++i]) {
      case 'Y':
        out += Pad(t.date.year, 4);
        break;
      case 'm':
        out += Pad(t.date.month, 2);
        break;
      case 'd':
        out += Pad(t.date.day, 2);
        break;
      case 'H':
        out += Pad(t.hour, 2);
        break;
      case 'M':
        out += Pad(t.minute, 2);
        break;
      case 'S':
        out += Pad(t.second, 2);
        break;
      case 'G':
        out += Pad(iso.year, 4);
        break;
      case 'V':
        out += Pad(iso.week, 2);
        break;
      case 'q':
        out += Pad((t.date.month - 1) / 3 + 1, 1);
        break;
      default:
        out += fmt[i];
        break;
    }
  }
  return out;
}

struct TemplatePiece {
  enum class Kind { kText, kParent, kFrom, kTo } kind;
  std::string text;  // kText: the text; kFrom/kTo: the FMT, if any
  bool has_format = false;
};

// Splits a name template into pieces; an error message names the problem.
std::optional<std::string> Tokenize(std::string_view tmpl, std::vector<TemplatePiece>* pieces) {
  const std::string quoted = "\"" + std::string(tmpl) + "\"";
  auto fail = [&quoted](const std::string& what) {
    return "name template " + quoted + ": " + what;
  };
  bool has_from = false;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '}') return fail("unbalanced '}' at offset " + std::to_string(i));
    if (c != '{') {
      if (!IsIdentifierByte(c)) {
        return fail("character '" + std::string(1, c) + "' at offset " + std::to_string(i) +
                    " is not allowed outside placeholders (only [a-z0-9_])");
      }
      if (pieces->empty() || pieces->back().kind != TemplatePiece::Kind::kText) {
        pieces->push_back({TemplatePiece::Kind::kText, "", false});
      }
      pieces->back().text += c;
      continue;
    }
    const size_t close = tmpl.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || tmpl[close] == '{') {
      return fail("unbalanced '{' at offset " + std::to_string(i));
    }
    const std::string_view inner = tmpl.substr(i + 1, close - i - 1);
    const size_t colon = inner.find(':');
    const std::string_view name = inner.substr(0, colon);
    TemplatePiece piece{TemplatePiece::Kind::kText, "", false};
    if (name == "parent" && colon == std::string_view::npos) {
      piece.kind = TemplatePiece::Kind::kParent;
    } else if (name == "from" || name == "to") {
      piece.kind = name == "from" ? TemplatePiece::Kind::kFrom : TemplatePiece::Kind::kTo;
      has_from = has_from || name == "from";
      if (colon != std::string_view::npos) {
        const std::string_view fmt = inner.substr(colon + 1);
        if (fmt.empty()) return fail("empty format in {" + std::string(inner) + "}");
        for (size_t k = 0; k < fmt.size(); ++k) {
          if (fmt[k] == '%') {
            if (k + 1 == fmt.size()) return fail("'%' at the end of {" + std::string(inner) + "}");
            if (kFormatCodes.find(fmt[k + 1]) == std::string_view::npos) {
              return fail("unknown format code %" + std::string(1, fmt[k + 1]) + " in {" +
                          std::string(inner) + "} (allowed: %Y %m %d %H %M %S %G %V %q)");
            }
            ++k;
          } else if (!IsIdentifierByte(fmt[k])) {
            return fail("character '" + std::string(1, fmt[k]) + "' in {" + std::string(inner) +
                        "} is not allowed (only [a-z0-9_] and % codes)");
          }
        }
        piece.text = std::string(fmt);
        piece.has_format = true;
      }
    } else {
      return fail("unknown placeholder {" + std::string(inner) +
                  "} (allowed: {parent}, {from}, {from:FMT}, {to}, {to:FMT})");
    }
    pieces->push_back(std::move(piece));
    i = close;
  }
  if (!has_from) return fail("must contain {from} or {from:FMT}");
  return std::nullopt;
}

}  // namespace

std::string_view RangeKeyTypeName(RangeKeyType type) {
  switch (type) {
    case RangeKeyType::kInteger:
      return "integer";
    case RangeKeyType::kDate:
      return "date";
    case RangeKeyType::kTimestamp:
      return "timestamp";
    case RangeKeyType::kTimestampTz:
      return "timestamptz";
  }
  return "?";
}

std::optional<std::string> ValidateInterval(RangeKeyType type, const RangeInterval& interval) {
  const std::pair<std::string_view, int64_t> fields[] = {{"months", interval.months},
                                                         {"days", interval.days},
                                                         {"micros", interval.micros},
                                                         {"width", interval.width}};
  std::string_view set;
  int count = 0;
  for (const auto& [name, value] : fields) {
    if (value < 0) return "range interval: " + std::string(name) + " must be positive";
    if (value > 0) {
      set = name;
      ++count;
    }
  }
  if (count != 1) {
    return "range interval: exactly one of months, days, micros, width must be set (" +
           std::to_string(count) + " are)";
  }
  const std::string key = " for a " + std::string(RangeKeyTypeName(type)) + " key";
  if (type == RangeKeyType::kInteger && set != "width") {
    return "range interval: " + std::string(set) + key + " (integer keys need a width)";
  }
  if (type != RangeKeyType::kInteger && set == "width") {
    return "range interval: width" + key + " (width is for integer keys only)";
  }
  if (type == RangeKeyType::kDate && set == "micros") {
    return "range interval: a fixed sub-day width" + key + " (dates need months or days)";
  }
  return std::nullopt;
}

TzDomain DomainFor(RangeKeyType type, const RangeInterval& interval) {
  return type == RangeKeyType::kTimestampTz && interval.micros > 0 ? TzDomain::kUtc
                                                                   : TzDomain::kCivil;
}

std::optional<int64_t> ParseRangePoint(RangeKeyType type, TzDomain domain, std::string_view text) {
  if (type == RangeKeyType::kInteger) return ParseInteger(text);
  return ParseDateTime(type, domain, text);
}

std::string FormatRangePoint(RangeKeyType type, TzDomain domain, int64_t point) {
  if (type == RangeKeyType::kInteger) return std::to_string(point);
  const CivilTime t = CivilFromPoint(point);
  std::string out = Pad(t.date.year, 4) + "-" + Pad(t.date.month, 2) + "-" + Pad(t.date.day, 2);
  if (type == RangeKeyType::kDate) return out;
  out += " " + Pad(t.hour, 2) + ":" + Pad(t.minute, 2) + ":" + Pad(t.second, 2);
  if (t.micros != 0) {
    std::string fraction = Pad(t.micros, 6);
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

int64_t DefaultOrigin(const RangeInterval& interval) {
  // 1970-01-05 was a Monday: 7-day buckets are ISO weeks.
  return interval.days > 0 ? 4 * kMicrosPerDay : 0;
}

Bucketer::Bucketer(RangeKeyType type, RangeInterval interval, int64_t origin,
                   std::vector<ExistingPartition> partitions)
    : type_(type),
      interval_(interval),
      domain_(DomainFor(type, interval)),
      origin_(origin),
      partitions_(std::move(partitions)) {}

Result<Bucketer> Bucketer::Make(RangeKeyType type, RangeInterval interval,
                                std::optional<int64_t> origin,
                                std::vector<std::string> partition_bound_texts) {
  if (std::optional<std::string> error = ValidateInterval(type, interval)) {
    return Corrupt(std::move(*error));
  }
  const TzDomain domain = DomainFor(type, interval);
  std::vector<std::pair<ExistingPartition, size_t>> parsed;  // partition, index of its text
  parsed.reserve(partition_bound_texts.size());
  for (size_t i = 0; i < partition_bound_texts.size(); ++i) {
    Result<ExistingPartition> part = ParsePartitionBound(type, domain, partition_bound_texts[i]);
    if (!part) return part.error();
    parsed.emplace_back(std::move(part).value(), i);
  }
  std::sort(parsed.begin(), parsed.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.lo, a.first.hi) < std::pair(b.first.lo, b.first.hi);
  });
  std::vector<ExistingPartition> partitions;
  partitions.reserve(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i) {
    // The clipping search relies on this; the server guarantees it.
    if (i > 0 && parsed[i - 1].first.hi > parsed[i].first.lo) {
      return Corrupt("partitions \"" + partition_bound_texts[parsed[i - 1].second] + "\" and \"" +
                     partition_bound_texts[parsed[i].second] + "\" overlap");
    }
    partitions.push_back(std::move(parsed[i].first));
  }
  return Bucketer(type, interval, origin.value_or(DefaultOrigin(interval)), std::move(partitions));
}

std::optional<std::pair<int64_t, int64_t>> Bucketer::Align(int64_t point) const {
  Int128 lo = 0, hi = 0;
  if (interval_.months > 0) {
    const Int128 mi = MonthIndexOf(point);
    const Int128 om = MonthIndexOf(origin_);
    const Int128 n = interval_.months;
    const Int128 lo_mi = om + FloorDiv<Int128>(mi - om, n) * n;
    const std::optional<int64_t> lo_point = MonthStart(lo_mi);
    const std::optional<int64_t> hi_point = MonthStart(lo_mi + n);
    if (!lo_point || !hi_point) return std::nullopt;
    return std::pair(*lo_point, *hi_point);
  }
  if (interval_.days > 0) {
    const Int128 d = FloorDiv(point, kMicrosPerDay);
    const Int128 od = FloorDiv(origin_, kMicrosPerDay);
    const Int128 n = interval_.days;
    const Int128 lo_day = od + FloorDiv<Int128>(d - od, n) * n;
    lo = lo_day * kMicrosPerDay;
    hi = (lo_day + n) * kMicrosPerDay;
  } else {
    const Int128 n = interval_.micros > 0 ? interval_.micros : interval_.width;
    lo = Int128{origin_} + FloorDiv<Int128>(Int128{point} - origin_, n) * n;
    hi = lo + n;
  }
  const std::optional<int64_t> lo64 = ToInt64(lo);
  const std::optional<int64_t> hi64 = ToInt64(hi);
  if (!lo64 || !hi64) return std::nullopt;
  return std::pair(*lo64, *hi64);
}

std::optional<Bucket> Bucketer::BucketOfPoint(int64_t point) const {
  const std::optional<std::pair<int64_t, int64_t>> aligned = Align(point);
  if (!aligned) return std::nullopt;
  Bucket b;
  b.lo = aligned->first;
  b.hi = aligned->second;
  // Partitions are sorted and disjoint: the one before `next` has the
  // largest lo <= point and, of those, the largest hi.
  const auto next =
      std::upper_bound(partitions_.begin(), partitions_.end(), point,
                       [](int64_t p, const ExistingPartition& part) { return p < part.lo; });
  const ExistingPartition* prev = next == partitions_.begin() ? nullptr : &*(next - 1);
  if (prev != nullptr && point < prev->hi) return std::nullopt;  // inside a partition
  if (prev != nullptr && prev->hi > b.lo) {
    b.lo = prev->hi;
    b.lo_literal = prev->hi_literal;
    b.clipped = true;
  }
  if (next != partitions_.end() && next->lo < b.hi) {
    b.hi = next->lo;
    b.hi_literal = next->lo_literal;
    b.clipped = true;
  }
  if (type_ != RangeKeyType::kInteger && b.lo < kMinTimePoint) return std::nullopt;
  if (b.lo_literal.empty()) b.lo_literal = FormatPoint(b.lo);
  if (b.hi_literal.empty()) b.hi_literal = FormatPoint(b.hi);
  return b;
}

std::optional<Bucket> Bucketer::BucketOf(std::string_view value_text) const {
  const std::optional<int64_t> point = ParsePoint(value_text);
  if (!point) return std::nullopt;
  return BucketOfPoint(*point);
}

std::optional<Bucket> Bucketer::BucketOf(const KeyValue& value) const {
  if (value.is_null()) return std::nullopt;
  return BucketOf(*value.text);
}

std::vector<Bucket> Bucketer::Gaps(size_t limit) const {
  std::vector<Bucket> gaps;
  for (size_t i = 1; i < partitions_.size() && gaps.size() < limit; ++i) {
    const int64_t end = partitions_[i].lo;
    int64_t point = partitions_[i - 1].hi;
    while (point < end && gaps.size() < limit) {
      std::optional<Bucket> b = BucketOfPoint(point);
      if (!b) break;  // cannot happen for a point between two partitions
      point = b->hi;  // > point, and <= end since partition i clips it
      gaps.push_back(std::move(*b));
    }
  }
  return gaps;
}

std::optional<int64_t> Bucketer::ParsePoint(std::string_view text) const {
  return ParseRangePoint(type_, domain_, text);
}

std::string Bucketer::FormatPoint(int64_t point) const {
  return FormatRangePoint(type_, domain_, point);
}

std::optional<InferredInterval> InferInterval(RangeKeyType type,
                                              const std::vector<std::string>& partition_bound_texts,
                                              std::string* error) {
  auto fail = [error](std::string message) -> std::optional<InferredInterval> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  // The partitions with two finite bounds, sorted by lo, with their texts.
  struct Finite {
    int64_t lo, hi;
    const std::string* text;
  };
  auto finite_partitions = [&](TzDomain domain,
                               std::vector<Finite>* out) -> std::optional<std::string> {
    for (const std::string& text : partition_bound_texts) {
      Result<ExistingPartition> part = ParsePartitionBound(type, domain, text);
      if (!part) return part.error().message;
      if (part->lo != kMinValuePoint && part->hi != kMaxValuePoint) {
        out->push_back({part->lo, part->hi, &text});
      }
    }
    std::sort(out->begin(), out->end(),
              [](const Finite& a, const Finite& b) { return a.lo < b.lo; });
    return std::nullopt;
  };
  // True when `width_of` gives every partition the same positive width.
  auto same_width = [](const std::vector<Finite>& parts, auto width_of) {
    const std::optional<Int128> first = width_of(parts[0]);
    if (!first || *first <= 0 || *first > std::numeric_limits<int64_t>::max()) return false;
    for (const Finite& p : parts) {
      if (width_of(p) != first) return false;
    }
    return true;
  };
  // Names the first two partitions whose widths in micros (or units) differ.
  auto differ = [](const std::vector<Finite>& parts) {
    for (const Finite& p : parts) {
      if (Int128{p.hi} - p.lo != Int128{parts[0].hi} - parts[0].lo) {
        return "partitions have different widths: \"" + *parts[0].text + "\" and \"" + *p.text +
               "\"";
      }
    }
    return std::string("partitions do not share a common interval");
  };

  std::vector<Finite> civil;
  if (std::optional<std::string> e = finite_partitions(TzDomain::kCivil, &civil)) return fail(*e);
  if (civil.empty()) return fail("no partition with finite bounds to infer an interval from");
  const int64_t first_lo = civil[0].lo;

  auto micros_width = [](const Finite& p) -> std::optional<Int128> { return Int128{p.hi} - p.lo; };
  if (type == RangeKeyType::kInteger) {
    if (!same_width(civil, micros_width)) return fail(differ(civil));
    return InferredInterval{RangeInterval{.width = civil[0].hi - civil[0].lo}, first_lo};
  }

  auto months_width = [](const Finite& p) -> std::optional<Int128> {
    if (FloorMod(p.lo, kMicrosPerDay) != 0 || FloorMod(p.hi, kMicrosPerDay) != 0) return {};
    if (CivilFromDays(FloorDiv(p.lo, kMicrosPerDay)).day != 1) return {};
    if (CivilFromDays(FloorDiv(p.hi, kMicrosPerDay)).day != 1) return {};
    return Int128{MonthIndexOf(p.hi)} - MonthIndexOf(p.lo);
  };
  if (same_width(civil, months_width)) {
    return InferredInterval{RangeInterval{.months = static_cast<int64_t>(*months_width(civil[0]))},
                            first_lo};
  }
  auto days_width = [](const Finite& p) -> std::optional<Int128> {
    if (FloorMod(p.lo, kMicrosPerDay) != 0 || FloorMod(p.hi, kMicrosPerDay) != 0) return {};
    return (Int128{p.hi} - p.lo) / kMicrosPerDay;
  };
  if (same_width(civil, days_width)) {
    return InferredInterval{RangeInterval{.days = static_cast<int64_t>(*days_width(civil[0]))},
                            first_lo};
  }
  if (type == RangeKeyType::kDate) return fail(differ(civil));

  // Fixed widths: timestamptz in UTC, where a DST day is 23 or 25 hours.
  std::vector<Finite> fixed;
  if (type == RangeKeyType::kTimestampTz) {
    if (std::optional<std::string> e = finite_partitions(TzDomain::kUtc, &fixed)) return fail(*e);
    if (fixed.empty()) return fail("no partition with finite bounds to infer an interval from");
  } else {
    fixed = civil;
  }
  if (!same_width(fixed, micros_width)) return fail(differ(fixed));
  return InferredInterval{RangeInterval{.micros = fixed[0].hi - fixed[0].lo}, fixed[0].lo};
}

std::string PartmanName(std::string_view parent_relname, std::string_view datetime_string,
                        const Bucket& bucket, RangeKeyType type) {
  const std::string suffix =
      "_p" + (type == RangeKeyType::kInteger ? std::to_string(bucket.lo)
                                             : ToChar(bucket.lo, datetime_string));
  const size_t room = suffix.size() < kMaxIdentifierBytes ? kMaxIdentifierBytes - suffix.size() : 0;
  return CutUtf8(parent_relname, room) + suffix;
}

std::optional<std::string> ValidateRangeNameTemplate(std::string_view name_template,
                                                     std::optional<RangeKeyType> type) {
  std::vector<TemplatePiece> pieces;
  if (std::optional<std::string> error = Tokenize(name_template, &pieces)) return error;
  if (type == RangeKeyType::kInteger) {
    for (const TemplatePiece& piece : pieces) {
      if (piece.has_format) {
        return "name template \"" + std::string(name_template) +
               "\": format codes need a date or timestamp key, not an integer key";
      }
    }
  }
  return std::nullopt;
}

std::string RangePartitionName(std::string_view name_template, std::string_view parent_relname,
                               const Bucket& bucket, RangeKeyType type) {
  std::vector<TemplatePiece> pieces;
  if (Tokenize(name_template, &pieces)) {  // REQUIRES broken: fall back to a safe template
    pieces.clear();
    (void)Tokenize("{parent}_p{from}", &pieces);
  }
  std::vector<std::string> rendered;  // "" for {parent}
  for (const TemplatePiece& piece : pieces) {
    std::string s;
    switch (piece.kind) {
      case TemplatePiece::Kind::kText:
        s = piece.text;
        break;
      case TemplatePiece::Kind::kParent:
        break;
      case TemplatePiece::Kind::kFrom:
      case TemplatePiece::Kind::kTo: {
        const bool from = piece.kind == TemplatePiece::Kind::kFrom;
        if (piece.has_format && type != RangeKeyType::kInteger) {
          s = FormatName(from ? bucket.lo : bucket.hi, piece.text);
        } else {
          s = ReduceLiteral(from ? bucket.lo_literal : bucket.hi_literal);
        }
        break;
      }
    }
    rendered.push_back(std::move(s));
  }
  auto assemble = [&](std::string_view parent) {
    std::string name;
    for (size_t i = 0; i < pieces.size(); ++i) {
      name += pieces[i].kind == TemplatePiece::Kind::kParent ? std::string(parent) : rendered[i];
    }
    if (!name.empty() && IsDigit(name[0])) name.insert(0, "p");
    return name;
  };
  // Cut the {parent} parts, a byte at a time (it is ASCII after Reduce),
  // until the name fits; only a template whose other parts alone pass 63
  // bytes loses its end.
  std::string parent = Reduce(parent_relname);
  std::string name = assemble(parent);
  while (name.size() > kMaxIdentifierBytes && !parent.empty()) {
    parent.pop_back();
    name = assemble(parent);
  }
  if (name.size() > kMaxIdentifierBytes) name.resize(kMaxIdentifierBytes);
  return name;
}

std::string DefaultRangeNameTemplate(RangeKeyType type, const RangeInterval& interval) {
  if (type == RangeKeyType::kInteger) return "{parent}_p{from}";
  if (interval.months > 0) {
    return interval.months % 12 == 0 ? "{parent}_p{from:%Y}" : "{parent}_p{from:%Y_%m}";
  }
  if (interval.days > 0) return "{parent}_p{from:%Y_%m_%d}";
  if (interval.micros > 0 && interval.micros % kMicrosPerMinute == 0) {
    return "{parent}_p{from:%Y_%m_%d_%H%M}";
  }
  if (interval.micros > 0 && interval.micros % kMicrosPerSecond == 0) {
    return "{parent}_p{from:%Y_%m_%d_%H%M%S}";
  }
  return "{parent}_p{from}";
}

}  // namespace partwatch::policy
