// Durations and addresses as written in the config file.
#include "config/values.hpp"

#include <charconv>
#include <cctype>

namespace sunkeep::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  if (text.empty()) return std::nullopt;
  milliseconds total{0};
  while (!text.empty()) {
    std::int64_t amount = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc{} || amount < 0 || amount > 1'000'000'000) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::size_t unit_len = 0;
    while (unit_len < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_len]))) ++unit_len;
    const std::string_view unit = text.substr(0, unit_len);
    text.remove_prefix(unit_len);
    if (unit == "ms") total += milliseconds{amount};
    else if (unit == "s") total += seconds{amount};
    else if (unit == "m") total += minutes{amount};
    else if (unit == "h") total += hours{amount};
    else if (unit == "d") total += hours{24 * amount};
    else return std::nullopt;
  }
  return total;
}

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Parsed<Endpoint> parse_endpoint(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Parsed<Endpoint>::failure("expected \"host:port\"");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Parsed<Endpoint>::failure("an IPv6 address must be written in brackets, e.g. \"[::]:7777\"");
  }
  if (host.empty()) {
    return Parsed<Endpoint>::failure("missing host before ':'");
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return Parsed<Endpoint>::failure("port must be a number from 0 to 65535");
  }
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

}  // namespace sunkeep::config
