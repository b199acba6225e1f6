// A parsed value, or why there is none: what a parser of untrusted text returns in place of an
// optional plus an error out-parameter.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace sunkeep {

template <class T>
class Parsed {
 public:
  // Implicit, so that a parser returns its value as it is.
  Parsed(T value) : value_(std::move(value)) {}
  static Parsed failure(std::string why) {
    Parsed parsed;
    parsed.error_ = std::move(why);
    return parsed;
  }

  explicit operator bool() const { return value_.has_value(); }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return &*value_; }
  // Why there is no value ("" when there is one).
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  Parsed() = default;
  std::optional<T> value_;
  std::string error_;
};

}  // namespace sunkeep
