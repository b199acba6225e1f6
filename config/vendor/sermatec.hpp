// The [sermatec] section and its [[sermatec.inverter]] entries (interfaces.md §2, sermatec.md).
#pragma once

#include "config/limits.hpp"
#include "config/values.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sunkeep::config {

struct SermatecInverter {
  std::string host;
  std::uint16_t port = 8899;
};

struct SermatecConfig {
  bool enabled = true;
  Endpoint listen{"0.0.0.0", 19042};
  std::chrono::milliseconds poll_interval = std::chrono::seconds(30);
  bool query_drm = false;
  bool query_forced_charge = false;
  bool query_network = false;
  ConnectionLimits limits;
  std::vector<SermatecInverter> inverters;
};

}  // namespace sunkeep::config
