// Parsers for the device-clock formats of AlphaESS payloads.
#include "protocol/alphaess/device_time.hpp"

#include <cctype>

namespace sunkeep::alphaess {

namespace {

// Reads 1..max_digits decimal digits.
bool read_int(std::string_view& text, std::size_t max_digits, int& out) {
  std::size_t n = 0;
  out = 0;
  while (n < text.size() && n < max_digits && std::isdigit(static_cast<unsigned char>(text[n]))) {
    out = out * 10 + (text[n] - '0');
    ++n;
  }
  text.remove_prefix(n);
  return n > 0;
}

bool expect(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

void skip_spaces(std::string_view& text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
}

bool read_date(std::string_view& text, std::size_t year_digits, CivilTime& t) {
  return read_int(text, year_digits, t.year) && expect(text, '/') && read_int(text, 2, t.month) &&
         expect(text, '/') && read_int(text, 2, t.day);
}

bool read_clock(std::string_view& text, CivilTime& t) {
  return read_int(text, 2, t.hour) && expect(text, ':') && read_int(text, 2, t.minute) &&
         expect(text, ':') && read_int(text, 2, t.second);
}

std::optional<CivilTime> finish(std::string_view rest, const CivilTime& t) {
  skip_spaces(rest);
  if (!rest.empty() || !t.valid()) return std::nullopt;
  return t;
}

}  // namespace

std::optional<CivilTime> parse_device_datetime(std::string_view text) {
  CivilTime t;
  skip_spaces(text);
  if (!read_date(text, 4, t)) return std::nullopt;
  skip_spaces(text);
  if (!read_clock(text, t)) return std::nullopt;
  return finish(text, t);
}

std::optional<CivilTime> parse_device_date_and_time(std::string_view date, std::string_view time) {
  CivilTime t;
  skip_spaces(date);
  skip_spaces(time);
  if (!read_date(date, 4, t) || !read_clock(time, t)) return std::nullopt;
  skip_spaces(date);
  if (!date.empty()) return std::nullopt;
  return finish(time, t);
}

std::optional<CivilTime> parse_event_datetime(std::string_view text) {
  CivilTime t;
  skip_spaces(text);
  if (!read_date(text, 2, t)) return std::nullopt;
  t.year += 2000;
  skip_spaces(text);
  if (!read_clock(text, t)) return std::nullopt;
  return finish(text, t);
}

}  // namespace sunkeep::alphaess
