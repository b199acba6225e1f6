// HTTP request targets: path and query splitting, percent-decoding, and the typed parameters of
// the API (times, steps, limits). Bad input raises BadParameter naming the parameter.
#pragma once

#include "common/civil_time.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::api {

struct BadParameter : std::runtime_error {
  BadParameter(std::string parameter_name, const std::string& detail)
      : std::runtime_error(detail), name(std::move(parameter_name)) {}
  std::string name;
};

// %XX decoding; with `plus_is_space` (query strings) '+' becomes ' '. Returns nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

class QueryParams {
 public:
  // Parses "a=1&b=2&a=3"; throws BadParameter for a bad escape.
  static QueryParams parse(std::string_view query);

  // The last value of `name`, if given.
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> all(std::string_view name) const;
  // Throws BadParameter naming the first parameter not in `allowed`.
  void allow_only(std::initializer_list<std::string_view> allowed) const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// RFC 3339 ("2021-03-23T23:01:52Z", fractional seconds, "+11:00" offsets; a '+' that arrived
// as a space is accepted) or Unix seconds ("1616540512", "1616540512.5"), from
// 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z; nullopt for anything else.
std::optional<UtcMillis> parse_time(std::string_view text);

// Whole seconds ("300") or a duration ("1m", "5m", "1h", "1d"); from 1 s to 100 years.
std::optional<std::int64_t> parse_step_seconds(std::string_view text);

// A positive integer.
std::optional<std::int64_t> parse_positive(std::string_view text);

}  // namespace sunkeep::api
