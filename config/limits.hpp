// Caps on a device listener's open connections (interfaces.md §2): beyond them a new connection
// is closed at once.
#pragma once

#include <cstdint>

namespace sunkeep::config {

struct ConnectionLimits {
  std::uint32_t max_connections = 20'000;         // per listener
  std::uint32_t max_connections_per_host = 1024;  // per source address
};

}  // namespace sunkeep::config
