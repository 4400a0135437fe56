// KeyValue: one partition-key value as pgoutput delivers it: its text form,
// or SQL NULL.  Plain value type.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace partwatch::policy {

struct KeyValue {
  std::optional<std::string> text;  // nullopt = SQL NULL

  static KeyValue Null() { return KeyValue{}; }
  static KeyValue Of(std::string s) { return KeyValue{std::move(s)}; }
  bool is_null() const { return !text.has_value(); }

  // For logs: the text in single quotes, or NULL.  Not SQL-safe; never paste
  // it into a statement.
  std::string ForLog() const { return text ? "'" + *text + "'" : std::string("NULL"); }

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct KeyValueHash {
  size_t operator()(const KeyValue& v) const {
    return v.text ? std::hash<std::string>{}(*v.text) : size_t{0x9e3779b97f4a7c15ULL};
  }
};

}  // namespace partwatch::policy
