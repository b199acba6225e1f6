// The server's wall clock, in the units storage uses.
#pragma once

#include "common/civil_time.hpp"

#include <chrono>

namespace sunkeep::server {

inline UtcMillis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sunkeep::server
