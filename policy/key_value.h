// KeyValue: one partition-key value as pgoutput delivers it: its text form,
// or SQL NULL.  Plain value type.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace partwatch::policy {

// `s` with backslashes, newlines and other control bytes escaped (\\, \n,
// \xNN), so it cannot forge log or report lines.  Not SQL-safe.
inline std::string EscapeControlBytes(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

struct KeyValue {
  std::optional<std::string> text;  // nullopt = SQL NULL

  static KeyValue Null() { return KeyValue{}; }
  static KeyValue Of(std::string s) { return KeyValue{std::move(s)}; }
  bool is_null() const { return !text.has_value(); }

  // For logs: the text in single quotes, or NULL; control bytes and
  // backslashes escaped (\n, \xNN) so a value cannot forge log lines, and
  // cut after 256 bytes.  Not SQL-safe; never paste it into a statement.
  std::string ForLog() const {
    if (!text) return "NULL";
    static constexpr size_t kMax = 256;
    std::string out = "'" + EscapeControlBytes(std::string_view(*text).substr(0, kMax)) + "'";
    if (text->size() > kMax) out += "...(" + std::to_string(text->size()) + " bytes)";
    return out;
  }

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct KeyValueHash {
  size_t operator()(const KeyValue& v) const {
    return v.text ? std::hash<std::string>{}(*v.text) : size_t{0x9e3779b97f4a7c15ULL};
  }
};

}  // namespace partwatch::policy
