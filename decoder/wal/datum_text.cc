#include "decoder/wal/datum_text.h"

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <type_traits>

namespace partwatch::wal {
namespace {

constexpr int64_t kPostgresEpochJulian = 2451545;  // 2000-01-01
constexpr int64_t kUnixEpochJulian = 2440588;      // 1970-01-01
constexpr int64_t kDateEndJulian = 2147483494;     // 5874898-01-01, first day past the range
constexpr int64_t kUsecsPerDay = INT64_C(86400000000);

template <typename T>
T LoadLittleEndian(std::span<const std::byte> value) {
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned v = 0;
  for (size_t i = sizeof(T); i-- > 0;) {
    v = static_cast<Unsigned>((v << 8) | std::to_integer<uint8_t>(value[i]));
  }
  return static_cast<T>(v);  // modular since C++20
}

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct CivilDate {
  int64_t year;  // astronomical: 0 is 1 BC
  int month;
  int day;
};

// Proleptic Gregorian calendar, as PostgreSQL's j2date; any Julian day.
CivilDate FromJulianDay(int64_t julian) {
  // Days since 0000-03-01, so that the leap day ends each 400-year era.
  const int64_t z = julian - kUnixEpochJulian + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t day_of_era = z - era * 146097;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;  // [0, 11]
  const int day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  const int month =
      static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  return CivilDate{year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

void AppendPadded(std::string* out, uint64_t value, size_t width) {
  const std::string digits = std::to_string(value);
  if (digits.size() < width) out->append(width - digits.size(), '0');
  *out += digits;
}

// "YYYY-MM-DD" with the BC year number (1 BC for year 0); *bc tells.
void AppendDate(std::string* out, const CivilDate& date, bool* bc) {
  *bc = date.year <= 0;
  AppendPadded(out, static_cast<uint64_t>(*bc ? 1 - date.year : date.year), 4);
  *out += '-';
  AppendPadded(out, static_cast<uint64_t>(date.month), 2);
  *out += '-';
  AppendPadded(out, static_cast<uint64_t>(date.day), 2);
}

// EncodeTimezone: seconds east of UTC as "+HH", "+HH:MM" or "+HH:MM:SS".
void AppendOffset(std::string* out, int32_t seconds_east) {
  *out += seconds_east >= 0 ? '+' : '-';
  const uint64_t magnitude = static_cast<uint64_t>(std::llabs(static_cast<int64_t>(seconds_east)));
  const uint64_t hours = magnitude / 3600;
  const uint64_t minutes = magnitude / 60 % 60;
  const uint64_t seconds = magnitude % 60;
  AppendPadded(out, hours, 2);
  if (minutes != 0 || seconds != 0) {
    *out += ':';
    AppendPadded(out, minutes, 2);
  }
  if (seconds != 0) {
    *out += ':';
    AppendPadded(out, seconds, 2);
  }
}

Error SizeError(const char* type, size_t want, size_t got) {
  return Error{Error::Kind::kCorrupt, std::string(type) + " value of " + std::to_string(got) +
                                          " bytes, expected " + std::to_string(want)};
}

Result<std::string> TimestampText(int64_t value, bool with_zone,
                                  const std::function<int32_t(int64_t)>& utc_offset) {
  if (value == INT64_MIN) return std::string("-infinity");
  if (value == INT64_MAX) return std::string("infinity");
  int64_t days = FloorDiv(value, kUsecsPerDay);
  int64_t time = value - days * kUsecsPerDay;
  // timestamp2tm refuses a UTC day outside 0..INT_MAX (Julian), before any zone.
  if (days + kPostgresEpochJulian < 0 || days + kPostgresEpochJulian > INT_MAX) {
    return Error{Error::Kind::kCorrupt, std::string(with_zone ? "timestamptz" : "timestamp") + " " +
                                            std::to_string(value) + " out of range"};
  }
  int32_t offset = 0;
  if (with_zone) {
    offset = utc_offset(value);
    time += static_cast<int64_t>(offset) * 1000000;  // |offset| < 2^31 s: no overflow
    days += FloorDiv(time, kUsecsPerDay);
    time -= FloorDiv(time, kUsecsPerDay) * kUsecsPerDay;
  }
  std::string out;
  bool bc = false;
  AppendDate(&out, FromJulianDay(days + kPostgresEpochJulian), &bc);
  const int64_t seconds = time / 1000000;
  const int64_t fraction = time % 1000000;
  out += ' ';
  AppendPadded(&out, static_cast<uint64_t>(seconds / 3600), 2);
  out += ':';
  AppendPadded(&out, static_cast<uint64_t>(seconds / 60 % 60), 2);
  out += ':';
  AppendPadded(&out, static_cast<uint64_t>(seconds % 60), 2);
  if (fraction != 0) {
    std::string digits;
    AppendPadded(&digits, static_cast<uint64_t>(fraction), 6);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.';
    out += digits;
  }
  if (with_zone) AppendOffset(&out, offset);
  if (bc) out += " BC";
  return out;
}

}  // namespace

Result<std::string> DatumText(KeyType type, std::span<const std::byte> value,
                              const std::function<int32_t(int64_t)>& utc_offset) {
  switch (type) {
    case KeyType::kText:
      return std::string(reinterpret_cast<const char*>(value.data()), value.size());
    case KeyType::kInt2:
      if (value.size() != 2) return SizeError("int2", 2, value.size());
      return std::to_string(LoadLittleEndian<int16_t>(value));
    case KeyType::kInt4:
      if (value.size() != 4) return SizeError("int4", 4, value.size());
      return std::to_string(LoadLittleEndian<int32_t>(value));
    case KeyType::kInt8:
      if (value.size() != 8) return SizeError("int8", 8, value.size());
      return std::to_string(LoadLittleEndian<int64_t>(value));
    case KeyType::kBool:
      if (value.size() != 1) return SizeError("bool", 1, value.size());
      return std::string(value[0] != std::byte{0} ? "t" : "f");
    case KeyType::kUuid: {
      if (value.size() != 16) return SizeError("uuid", 16, value.size());
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out;
      for (size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        const uint8_t byte = std::to_integer<uint8_t>(value[i]);
        out += kHex[byte >> 4];
        out += kHex[byte & 0x0f];
      }
      return out;
    }
    case KeyType::kDate: {
      if (value.size() != 4) return SizeError("date", 4, value.size());
      const int32_t days = LoadLittleEndian<int32_t>(value);
      if (days == INT32_MIN) return std::string("-infinity");
      if (days == INT32_MAX) return std::string("infinity");
      const int64_t julian = int64_t{days} + kPostgresEpochJulian;
      if (julian < 0 || julian >= kDateEndJulian) {
        return Error{Error::Kind::kCorrupt, "date " + std::to_string(days) + " out of range"};
      }
      std::string out;
      bool bc = false;
      AppendDate(&out, FromJulianDay(julian), &bc);
      if (bc) out += " BC";
      return out;
    }
    case KeyType::kTimestamp:
    case KeyType::kTimestamptz:
      if (value.size() != 8) {
        return SizeError(type == KeyType::kTimestamp ? "timestamp" : "timestamptz", 8,
                         value.size());
      }
      return TimestampText(LoadLittleEndian<int64_t>(value), type == KeyType::kTimestamptz,
                           utc_offset);
  }
  return Error{Error::Kind::kCorrupt, "unknown key type " + std::to_string(static_cast<int>(type))};
}

}  // namespace partwatch::wal
