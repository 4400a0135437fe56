#include "policy/naming.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>

#include "policy/internal.h"

namespace partwatch::policy {

namespace {

constexpr std::string_view kParentPlaceholder = "{parent}";
constexpr std::string_view kValuePlaceholder = "{value}";
// "_" + 8 hex digits.
constexpr size_t kHashSuffixBytes = 9;

using internal::IsDigit;
using internal::IsIdentifierByte;

bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// ASCII lower-case, then every byte outside [a-z0-9_] becomes '_'.  A
// multi-byte UTF-8 character becomes one '_' per byte: simple, keeps the
// mapping byte-for-byte, and the hash suffix (appended whenever this changed
// anything) is what keeps distinct values apart, not the readable part.
std::string Reduce(std::string_view text) { return ReduceToIdentifierBytes(text); }

// True when `name` ends in "_" and 8 lower-case hex digits, i.e. looks like
// it already carries a hash suffix.
bool EndsLikeHashSuffix(std::string_view name) {
  if (name.size() < kHashSuffixBytes) return false;
  const std::string_view tail = name.substr(name.size() - kHashSuffixBytes);
  if (tail[0] != '_') return false;
  for (char c : tail.substr(1)) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

// For error messages: a printable character as-is, anything else as \xNN.
std::string DescribeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", u);
  return buf;
}

}  // namespace

std::optional<std::string> ValidateNameTemplate(std::string_view name_template) {
  const std::string quoted = "\"" + std::string(name_template) + "\"";
  bool has_value = false;
  for (size_t i = 0; i < name_template.size(); ++i) {
    const char c = name_template[i];
    if (c == '}') {
      return "name template " + quoted + ": unbalanced '}' at offset " + std::to_string(i);
    }
    if (c == '{') {
      const size_t close = name_template.find_first_of("{}", i + 1);
      if (close == std::string_view::npos || name_template[close] == '{') {
        return "name template " + quoted + ": unbalanced '{' at offset " + std::to_string(i);
      }
      const std::string_view placeholder = name_template.substr(i, close - i + 1);
      if (placeholder == kValuePlaceholder) {
        has_value = true;
      } else if (placeholder != kParentPlaceholder) {
        return "name template " + quoted + ": unknown placeholder " + std::string(placeholder) +
               " (allowed: {parent}, {value})";
      }
      i = close;
      continue;
    }
    if (!IsIdentifierByte(c)) {
      return "name template " + quoted + ": character " + DescribeByte(c) + " at offset " +
             std::to_string(i) + " is not allowed outside placeholders (only [a-z0-9_])";
    }
  }
  if (!has_value) return "name template " + quoted + ": must contain {value}";
  return std::nullopt;
}

std::string PartitionName(std::string_view name_template, std::string_view parent_relname,
                          const KeyValue& value) {
  const std::string parent_part = Reduce(parent_relname);
  std::string value_part;
  bool hashed = true;  // NULL and '' always get the hash
  if (value.text) {
    value_part = Reduce(*value.text);
    hashed = value.text->empty() || value_part != *value.text;
  } else {
    value_part = "null";
  }

  // Render the template.  Bytes that are not part of a known placeholder go
  // through Reduce() too, so even a template that skipped validation yields a
  // valid identifier.
  std::string base;
  bool value_leads = false;  // the name's first byte comes from {value}
  for (size_t i = 0; i < name_template.size();) {
    const std::string_view rest = name_template.substr(i);
    if (rest.starts_with(kValuePlaceholder)) {
      if (base.empty() && !value_part.empty()) value_leads = true;
      base += value_part;
      i += kValuePlaceholder.size();
    } else if (rest.starts_with(kParentPlaceholder)) {
      base += parent_part;
      i += kParentPlaceholder.size();
    } else {
      base += Reduce(rest.substr(0, 1));
      ++i;
    }
  }

  if (!base.empty() && IsDigit(base[0])) {
    base.insert(0, "p");
    // When the digit came from the value, "p" makes value "2024" collide with
    // value "p2024"; the hash keeps them apart.  A digit from {parent} or the
    // template is the same for every value of the table: no collision.
    if (value_leads) hashed = true;
  }
  // An unhashed name must never look hashed, or value 'a_<hash of A>' would
  // get the same name as value 'A'.  With this rule unhashed names never end
  // in "_<8 hex>" and hashed ones always do.
  if (!hashed && EndsLikeHashSuffix(base)) hashed = true;

  const std::string hash_suffix = "_" + ShortHash(value);
  if (base.size() + (hashed ? kHashSuffixBytes : 0) > kMaxIdentifierBytes) {
    base.resize(kMaxIdentifierBytes - kHashSuffixBytes);  // all ASCII: no partial character
    hashed = true;
  }
  return hashed ? base + hash_suffix : base;
}

namespace {

template <typename Word, Word kOffsetBasis, Word kPrime>
Word Fnv1a(std::string_view bytes, Word hash = kOffsetBasis) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kPrime;
  }
  return hash;
}

constexpr uint64_t kFnv64Basis = 14695981039346656037ULL;
constexpr uint64_t kFnv64Prime = 1099511628211ULL;

}  // namespace

uint64_t Fnv1a64(std::string_view bytes) {
  return Fnv1a<uint64_t, kFnv64Basis, kFnv64Prime>(bytes);
}

uint32_t Fnv1a32(std::string_view bytes) { return Fnv1a<uint32_t, 2166136261U, 16777619U>(bytes); }

std::string CutUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

std::string ShortHash(const KeyValue& value) {
  // A tag byte first: NULL hashes differently from every string.
  const char tag = value.text ? 1 : 0;
  uint64_t hash = Fnv1a<uint64_t, kFnv64Basis, kFnv64Prime>(std::string_view(&tag, 1));
  if (value.text) hash = Fnv1a<uint64_t, kFnv64Basis, kFnv64Prime>(*value.text, hash);
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08" PRIx32, static_cast<uint32_t>(hash));
  return buf;
}

std::string ReduceToIdentifierBytes(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!IsIdentifierByte(c)) c = '_';
  }
  return out;
}

}  // namespace partwatch::policy
