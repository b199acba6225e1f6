// The [log] section: how much sunkeep logs. SUNKEEP_LOG_LEVEL in the environment wins over it.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string>
#include <string_view>

namespace sunkeep::config {

struct LogConfig {
  std::string level = "info";  // one of log_level_names
};

// The names [log] level and SUNKEEP_LOG_LEVEL accept, from the most to the least verbose.
inline constexpr std::string_view log_level_names = "trace, debug, info, warn, error, critical, off";

// The level a name means ("warning" and spdlog's "err" are accepted too); nullopt for any other.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

}  // namespace sunkeep::config
