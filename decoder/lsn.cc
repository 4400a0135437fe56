#include "decoder/lsn.h"

#include <array>
#include <cstdio>

namespace partwatch {

namespace {

// Hex digit values by character, -1 for anything else.
constexpr auto kHexValues = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

}  // namespace

// One pass (a wal2json replay parses one per record): 1..8 hex digits,
// '/', 1..8 hex digits, nothing else.
std::optional<Lsn> Lsn::Parse(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  uint64_t hi = 0;
  for (; i < n && i <= 8; ++i) {
    const int8_t digit = kHexValues[static_cast<unsigned char>(text[i])];
    if (digit < 0) break;
    hi = (hi << 4) | static_cast<uint64_t>(digit);
  }
  if (i == 0 || i > 8 || i == n || text[i] != '/') return std::nullopt;
  const size_t lo_start = ++i;
  if (n - lo_start == 0 || n - lo_start > 8) return std::nullopt;
  uint64_t lo = 0;
  for (; i < n; ++i) {
    const int8_t digit = kHexValues[static_cast<unsigned char>(text[i])];
    if (digit < 0) return std::nullopt;
    lo = (lo << 4) | static_cast<uint64_t>(digit);
  }
  return Lsn((hi << 32) | lo);
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%X/%X", static_cast<uint32_t>(value_ >> 32),
                static_cast<uint32_t>(value_));
  return buf;
}

}  // namespace partwatch
