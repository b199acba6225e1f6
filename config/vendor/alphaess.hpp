// The [alphaess] section (interfaces.md §2, alphaess.md).
#pragma once

#include "config/limits.hpp"
#include "config/values.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace sunkeep::config {

struct AlphaEssConfig {
  bool enabled = true;
  Endpoint listen{"0.0.0.0", 7777};
  std::string timezone = "UTC";
  bool backfill = true;
  std::chrono::milliseconds backfill_min_gap = std::chrono::minutes(2);
  std::chrono::milliseconds backfill_max_age = std::chrono::hours(24 * 7);
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  std::uint32_t max_frame = 65536;
  ConnectionLimits limits;
};

}  // namespace sunkeep::config
