// Lsn: a PostgreSQL WAL position (XLogRecPtr) as a strong type.
//
// Contract: a value type, trivially copyable, thread-compatible. The textual
// form is PostgreSQL's "X/X" (upper-case hex, high and low 32 bits), exactly
// what pg_lsn prints and what START_REPLICATION accepts.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace partwatch {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  static constexpr Lsn Invalid() { return Lsn(0); }

  // Parses "X/X" (each half 1..8 hex digits). Returns nullopt on anything else.
  static std::optional<Lsn> Parse(std::string_view text);

  // Formats as "X/X", e.g. "0/16B3748".
  std::string ToString() const;

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }

  friend constexpr auto operator<=>(Lsn a, Lsn b) = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace partwatch
