// Reading a device back over the HTTP API in integration tests.
#pragma once

#include "tests/support/http_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sunkeep::test {

// Whether `device_path` (e.g. "/api/v1/devices/sma:1") lists an event with `code`.
inline bool has_event(std::uint16_t port, const std::string& device_path, const std::string& code) {
  const HttpReply r = http_get(port, device_path + "/events");
  if (r.status != 200) return false;
  const nlohmann::json answer = nlohmann::json::parse(r.body);
  for (const auto& e : answer["events"]) {
    if (e["code"] == code) return true;
  }
  return false;
}

}  // namespace sunkeep::test
