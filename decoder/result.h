// Result<T>: the decoder's error channel (the data path does not throw).
//
// A Result holds either a value or an Error. Error::kind tells "the input
// stopped early" (kTruncated: more bytes would have been needed) from "the
// input is wrong" (kCorrupt). Results are [[nodiscard]]: ignoring one is a
// compile warning, and an ignored error has to be ignored visibly.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace partwatch {

struct Error {
  enum class Kind { kTruncated, kCorrupt };
  Kind kind;
  std::string message;  // names the message and the field, e.g. "Insert: relation id: truncated"
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace partwatch
