// Parsers for the value syntaxes of the config file: durations and "host:port" addresses.
#pragma once

#include "common/parsed.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sunkeep::config {

// "30s", "5m", "2h", "7d", "250ms", also combined ("1h30m"). Returns nullopt on anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// "host:port" or "[v6]:port", port 0–65535 (0 = any free port), or what is wrong with `text`.
Parsed<Endpoint> parse_endpoint(std::string_view text);

}  // namespace sunkeep::config
