// The [sma] section and its [[sma.inverter]] entries (sma-speedwire.md §9.1, interfaces.md §2).
#pragma once

#include "config/values.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::config {

enum class SmaUserGroup { user, installer };

// An inverter polled on UDP; user_group and password fall back to the section's.
struct SmaInverter {
  std::string host;
  std::uint16_t port = 9522;
  std::optional<SmaUserGroup> user_group;
  std::optional<std::string> password;  // never logged or returned
};

struct SmaConfig {
  bool enabled = true;
  std::chrono::milliseconds poll_interval = std::chrono::seconds(30);
  std::chrono::milliseconds timeout = std::chrono::seconds(2);
  std::uint32_t retries = 2;
  bool discovery = false;
  SmaUserGroup user_group = SmaUserGroup::user;
  std::string password;
  bool energy_meter = true;
  std::chrono::milliseconds energy_meter_interval = std::chrono::seconds(10);
  std::string interface;  // local IPv4 for the multicast join and discovery; "" = system default
  Endpoint energy_meter_listen{"0.0.0.0", 9522};
  std::vector<SmaInverter> inverters;

  [[nodiscard]] SmaUserGroup group_of(const SmaInverter& inverter) const {
    return inverter.user_group.value_or(user_group);
  }
  [[nodiscard]] const std::string& password_of(const SmaInverter& inverter) const {
    return inverter.password ? *inverter.password : password;
  }
};

// Whether Speedwire can carry `password`: at most 12 ASCII characters (§4.2).
bool sma_password_fits(const std::string& password);

}  // namespace sunkeep::config
