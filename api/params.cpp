// Request target and parameter parsing.
#include "api/params.hpp"

#include "common/hex.hpp"
#include "config/values.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sunkeep::api {

namespace {

// Reads exactly `digits` decimal digits.
bool fixed_int(std::string_view& text, std::size_t digits, int& out) {
  if (text.size() < digits) return false;
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  text.remove_prefix(digits);
  return true;
}

bool take(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

// Fractional seconds after '.', as milliseconds (further digits are dropped).
bool fraction_ms(std::string_view& text, std::int64_t& ms) {
  ms = 0;
  if (!take(text, '.')) return true;
  std::size_t n = 0;
  std::int64_t scale = 100;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
    ms += scale * (text[n] - '0');
    scale /= 10;
    ++n;
  }
  text.remove_prefix(n);
  return n > 0;
}

// "Z", "+hh:mm", "-hh:mm" (a '+' decoded from a query string arrives as ' '): offset in seconds.
bool zone_offset(std::string_view& text, std::int64_t& offset) {
  if (take(text, 'Z') || take(text, 'z')) {
    offset = 0;
    return text.empty();
  }
  if (text.empty()) return false;
  const char sign = text.front();
  if (sign != '+' && sign != '-' && sign != ' ') return false;
  text.remove_prefix(1);
  int hours = 0;
  int minutes = 0;
  if (!fixed_int(text, 2, hours) || !take(text, ':') || !fixed_int(text, 2, minutes) || !text.empty()) return false;
  if (hours > 23 || minutes > 59) return false;
  offset = (hours * 3600 + minutes * 60) * (sign == '-' ? -1 : 1);
  return true;
}

// The times a client may give: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
constexpr UtcMillis earliest_time_ms = -62'167'219'200'000;
constexpr UtcMillis latest_time_ms = 253'402'300'799'999;

// A date that exists and a time of day in range, for years 0000-9999 (CivilTime::valid() is the
// device clocks' rule and starts at 1970). A day past its month's end does not read back the same.
bool exists(const CivilTime& t) {
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 || t.second > 59) {
    return false;
  }
  return civil_from_naive_seconds(t.naive_epoch_seconds()) == t;
}

std::optional<UtcMillis> parse_rfc3339(std::string_view text) {
  CivilTime t;
  if (!fixed_int(text, 4, t.year) || !take(text, '-') || !fixed_int(text, 2, t.month) || !take(text, '-') ||
      !fixed_int(text, 2, t.day)) {
    return std::nullopt;
  }
  if (!(take(text, 'T') || take(text, 't') || take(text, ' '))) return std::nullopt;
  std::int64_t ms = 0;
  std::int64_t offset = 0;
  if (!fixed_int(text, 2, t.hour) || !take(text, ':') || !fixed_int(text, 2, t.minute) || !take(text, ':') ||
      !fixed_int(text, 2, t.second) || !fraction_ms(text, ms) || !zone_offset(text, offset) || !exists(t)) {
    return std::nullopt;
  }
  return (t.naive_epoch_seconds() - offset) * 1000 + ms;
}

std::optional<UtcMillis> parse_unix_seconds(std::string_view text) {
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(seconds)) return std::nullopt;
  if (std::fabs(seconds) > 1e12) return std::nullopt;  // far outside the years 0000-9999; keeps × 1000 exact
  return static_cast<UtcMillis>(std::llround(seconds * 1000.0));
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit_value(text[i + 1]);
      const int lo = hex_digit_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return out;
}

QueryParams QueryParams::parse(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq), true);
    const auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) throw BadParameter(std::string(pair.substr(0, eq)), "bad percent-encoding");
    params.pairs_.emplace_back(*name, *value);
  }
  return params;
}

std::optional<std::string> QueryParams::get(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [k, v] : pairs_) {
    if (k == name) found = v;
  }
  return found;
}

std::vector<std::string> QueryParams::all(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [k, v] : pairs_) {
    if (k == name) values.push_back(v);
  }
  return values;
}

void QueryParams::allow_only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [k, v] : pairs_) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string known;
      for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      throw BadParameter(k, "unknown parameter (this endpoint takes: " + (known.empty() ? "none" : known) + ")");
    }
  }
}

std::optional<UtcMillis> parse_time(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const bool numeric = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-';
  }) && text.find('-', 1) == std::string_view::npos;
  const auto t = numeric ? parse_unix_seconds(text) : parse_rfc3339(text);
  // An offset or a fraction can carry a time written inside the years past their edge.
  if (!t || *t < earliest_time_ms || *t > latest_time_ms) return std::nullopt;
  return t;
}

std::optional<std::int64_t> parse_step_seconds(std::string_view text) {
  constexpr std::int64_t max_step_s = 100LL * 366 * 86400;  // keeps step × 1000 far inside int64
  std::optional<std::int64_t> seconds = parse_positive(text);
  if (!seconds) {
    const auto duration = config::parse_duration(text);
    if (!duration || duration->count() < 1000 || duration->count() % 1000 != 0) return std::nullopt;
    seconds = duration->count() / 1000;
  }
  if (*seconds > max_step_s) return std::nullopt;
  return seconds;
}

std::optional<std::int64_t> parse_positive(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

}  // namespace sunkeep::api
