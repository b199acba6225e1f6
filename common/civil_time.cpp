// Naive calendar date-times and their conversion to day counts.
#include "common/civil_time.hpp"

#include <date/date.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

namespace sunkeep {

namespace {

// Writes `value` (≥ 0) as `width` digits, zero-padded, at `at`.
void put_digits(char* at, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Writes `c` digit by digit into the digit places of `layout` ("0000?00?00?00?00?00…", at least
// 19 characters; the others are kept) and returns true, or returns false when a field does not
// fit its digits: the callers then use snprintf, as they did for every time until snprintf showed
// as 28 % of a one-day raw series query.
bool with_digits(const CivilTime& c, char* layout) {
  const int smallest = std::min({c.year, c.month, c.day, c.hour, c.minute, c.second});
  const int largest = std::max({c.month, c.day, c.hour, c.minute, c.second});
  if (smallest < 0 || c.year > 9999 || largest > 99) return false;
  put_digits(&layout[0], c.year, 4);
  put_digits(&layout[5], c.month, 2);
  put_digits(&layout[8], c.day, 2);
  put_digits(&layout[11], c.hour, 2);
  put_digits(&layout[14], c.minute, 2);
  put_digits(&layout[17], c.second, 2);
  return true;
}

}  // namespace

std::int64_t CivilTime::naive_epoch_seconds() const {
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  const auto days = date::sys_days{ymd}.time_since_epoch().count();
  return static_cast<std::int64_t>(days) * 86400 + hour * 3600 + minute * 60 + second;
}

std::string CivilTime::to_device_string() const {
  char text[] = "0000/00/00 00:00:00";
  if (with_digits(*this, text)) return text;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d %02d:%02d:%02d", year, month, day, hour, minute,
                second);
  return buf;
}

bool CivilTime::valid() const {
  if (year < 1970 || year > 9999 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59 || month < 1 || month > 12 || day < 1 || day > 31) {
    return false;
  }
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  return ymd.ok();
}

CivilTime civil_from_naive_seconds(std::int64_t seconds) {
  std::int64_t days = seconds / 86400;
  std::int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    days -= 1;
  }
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  CivilTime t;
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(rest / 3600);
  t.minute = static_cast<int>((rest % 3600) / 60);
  t.second = static_cast<int>(rest % 60);
  return t;
}

std::optional<CivilTime> parse_device_string(std::string_view text) {
  constexpr std::string_view shape = "dddd/dd/dd dd:dd:dd";
  if (text.size() != shape.size()) return std::nullopt;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t width) {
    int v = 0;
    for (std::size_t i = at; i < at + width; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const CivilTime t{number(0, 4), number(5, 2), number(8, 2), number(11, 2), number(14, 2), number(17, 2)};
  if (!t.valid()) return std::nullopt;
  return t;
}

void append_rfc3339(std::string& out, UtcMillis t) {
  std::int64_t seconds = t / 1000;
  if (t % 1000 < 0) seconds -= 1;
  const CivilTime c = civil_from_naive_seconds(seconds);
  char text[] = "0000-00-00T00:00:00Z";
  if (with_digits(c, text)) {
    out.append(text, sizeof text - 1);
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  out += buf;
}

std::string format_rfc3339(UtcMillis t) {
  std::string text;
  append_rfc3339(text, t);
  return text;
}

}  // namespace sunkeep
