// Policy-internal helpers shared by the RANGE files (calendar.cc,
// range_bounds.cc, bucketer.cc, range_naming.cc).  Not an API: include it
// from .cc files only, and pull names in with using-declarations.  They
// live in their own namespace because other policy/ files (naming.cc,
// policy.cc) have same-named helpers in anonymous namespaces.
#pragma once

#include <string>
#include <utility>

#include "decoder/result.h"

namespace partwatch::policy::range_internal {

// [0-9].
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9_]: what a name template may contain outside placeholders.
constexpr bool IsIdentifierByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// ASCII upper-case; every other byte unchanged.
constexpr char AsciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// An Error of kind kCorrupt.
inline Error Corrupt(std::string message) {
  return Error{Error::Kind::kCorrupt, std::move(message)};
}

}  // namespace partwatch::policy::range_internal
