#include "src/replay/report.h"

#include <fmt/format.h>

#include "policy/naming.h"
#include "src/replay/render_util.h"

namespace partwatch::replay {

const char* DecisionKindName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kCreate:
      return "create";
    case DecisionKind::kAlert:
      return "alert";
    case DecisionKind::kMaxFuture:
      return "held by max_future";
    case DecisionKind::kCapped:
      return "capped";
  }
  return "unknown";
}

std::string FormatTime(int64_t micros_since_2000) {
  const internal::CivilTime c = internal::ToCivil(micros_since_2000);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day,
                                c.hour, c.minute, c.second);
  if (c.micros != 0) out += fmt::format(".{:06}", c.micros);
  return out + "Z";
}

namespace internal {

namespace {

// Floor division: times before 2000 still break down to the right day.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return Thousands(n) + " " + (n == 1 ? one : many);
}

}  // namespace

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b < 0 ? INT64_MAX : INT64_MIN;
}

std::string Thousands(int64_t n) {
  // Through uint64_t: the magnitude of INT64_MIN does not fit in int64_t.
  const uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

CivilTime ToCivil(int64_t micros_since_2000) {
  CivilTime c;
  // Floor division without a product that could overflow at the extremes.
  int64_t days = micros_since_2000 / kMicrosPerDay;
  int64_t in_day = micros_since_2000 % kMicrosPerDay;
  if (in_day < 0) {
    in_day += kMicrosPerDay;
    --days;
  }
  c.micros = in_day % kMicrosPerSecond;
  const int64_t secs = in_day / kMicrosPerSecond;
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  // Howard Hinnant's civil_from_days, from 1970-01-01 (2000-01-01 is day
  // 10957 of the Unix epoch).
  const int64_t z = days + 10957 + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

std::string ShortTime(int64_t micros_since_2000) {
  const CivilTime c = ToCivil(micros_since_2000);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
}

std::string Duration(int64_t micros) {
  if (micros < 0) micros = micros == INT64_MIN ? INT64_MAX : -micros;
  const int64_t secs = micros / kMicrosPerSecond;
  const int64_t d = secs / 86400;
  const int64_t h = secs / 3600 % 24;
  const int64_t m = secs / 60 % 60;
  const int64_t s = secs % 60;
  if (d > 0) return fmt::format("{} d {} h", d, h);
  if (h > 0) return fmt::format("{} h {} min", h, m);
  if (m > 0) return fmt::format("{} min {} s", m, s);
  if (s > 0) return fmt::format("{} s", s);
  return fmt::format("{} ms", micros / 1000);
}

const Crossing* CrossingAt(const ValueReport& value, size_t scenario) {
  for (const Crossing& c : value.crossings) {
    if (c.scenario == scenario) return &c;
  }
  return nullptr;
}

int64_t CountOf(const DecisionCounts& counts, DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kCreate:
      return counts.create;
    case DecisionKind::kAlert:
      return counts.alert;
    case DecisionKind::kMaxFuture:
      return counts.max_future;
    case DecisionKind::kCapped:
      return counts.capped;
  }
  return 0;
}

std::vector<DecisionCounts> ScenarioDecisions(const TableReport& table) {
  if (table.decisions.size() == table.thresholds.size()) return table.decisions;
  std::vector<DecisionCounts> out(table.thresholds.size());
  for (size_t i = 0; i < table.thresholds.size(); ++i) {
    for (const ValueReport& v : table.values) {
      const Crossing* c = CrossingAt(v, i);
      if (c == nullptr) continue;
      switch (c->decision) {
        case DecisionKind::kCreate:
          ++out[i].create;
          break;
        case DecisionKind::kAlert:
          ++out[i].alert;
          break;
        case DecisionKind::kMaxFuture:
          ++out[i].max_future;
          break;
        case DecisionKind::kCapped:
          ++out[i].capped;
          break;
      }
    }
  }
  return out;
}

std::string SummaryLine(int64_t threshold, const DecisionCounts& counts) {
  return fmt::format(
      "threshold {}: {} would have been created, {}, {} held by max_future, {} capped", threshold,
      Plural(counts.create, "partition", "partitions"), Plural(counts.alert, "alert", "alerts"),
      Thousands(counts.max_future), Thousands(counts.capped));
}

std::string Printable(std::string_view s) { return policy::EscapeControlBytes(s); }

std::string ValidUtf8(std::string_view s) {
  static constexpr const char* kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out += s[i++];
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && len <= s.size() - i;
    for (size_t k = 1; ok && k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong three- and four-byte forms, surrogates, beyond U+10FFFF.
    if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string ValueLabel(const policy::KeyValue& value, size_t max_bytes) {
  if (value.is_null() || value.text->size() <= max_bytes) return value.ForLog();
  return policy::KeyValue::Of(policy::CutUtf8(*value.text, max_bytes)).ForLog() + "\xE2\x80\xA6";
}

}  // namespace internal
}  // namespace partwatch::replay
