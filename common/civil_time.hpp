// Naive calendar date-times (no zone) as devices send them, and UTC instants as sunkeep stores them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sunkeep {

// Milliseconds since the Unix epoch, UTC.
using UtcMillis = std::int64_t;

// A wall-clock reading with no time zone attached, as a device clock shows it.
struct CivilTime {
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;

  // Seconds since 1970-01-01 00:00:00 of the same naive calendar (no zone applied).
  [[nodiscard]] std::int64_t naive_epoch_seconds() const;
  // "YYYY/MM/DD hh:mm:ss": the normalised form used in record keys and in AlphaESS Resume.
  [[nodiscard]] std::string to_device_string() const;
  // True when every field is in range and the day exists in that month.
  [[nodiscard]] bool valid() const;

  friend bool operator==(const CivilTime&, const CivilTime&) = default;
};

// The start of the `period`-long interval holding `t`, periods counted from 0: floor(t / period)
// × period, correct for negative `t` too (`period` > 0). Hours, buckets and blocks use it.
constexpr std::int64_t period_start(std::int64_t t, std::int64_t period) {
  const std::int64_t r = t % period;
  return t - (r < 0 ? r + period : r);
}

// The naive calendar reading of a naive epoch second count (inverse of naive_epoch_seconds).
CivilTime civil_from_naive_seconds(std::int64_t seconds);

// Reads back exactly what to_device_string() writes ("YYYY/MM/DD hh:mm:ss", a valid time);
// nullopt for any other text.
std::optional<CivilTime> parse_device_string(std::string_view text);

// RFC 3339 UTC with Z, whole seconds: "2021-03-23T23:01:52Z".
std::string format_rfc3339(UtcMillis t);
// The same text appended to `out`, with no string of its own (a day of raw points has 8,640).
void append_rfc3339(std::string& out, UtcMillis t);

}  // namespace sunkeep
