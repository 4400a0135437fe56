// Helpers shared by policy/'s .cc files (naming, policy, the RANGE files).
// Not an API: include it from .cc files only, and pull names in with
// using-declarations.
#pragma once

#include <string>
#include <utility>

#include "decoder/result.h"

namespace partwatch::policy::internal {

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

}  // namespace partwatch::policy::internal
