// The [log] section and the log level names.
#include "config/log.hpp"

#include "config/readers.hpp"

#include <array>
#include <utility>

namespace sunkeep::config {

namespace {

std::string level_problem(std::string_view name) {
  return parse_log_level(name) ? "" : "\"" + std::string(name) + "\" is not a level (" + std::string(log_level_names) + ")";
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  using spdlog::level::level_enum;
  static constexpr std::array<std::pair<std::string_view, level_enum>, 9> names{{
      {"trace", level_enum::trace},
      {"debug", level_enum::debug},
      {"info", level_enum::info},
      {"warn", level_enum::warn},
      {"warning", level_enum::warn},
      {"error", level_enum::err},
      {"err", level_enum::err},
      {"critical", level_enum::critical},
      {"off", level_enum::off},
  }};
  for (const auto& [text, level] : names) {
    if (text == name) return level;
  }
  return std::nullopt;
}

SectionSpec log_section() {
  return SectionSpec{"log", {{"level", checked_text([](Config& c) -> std::string& { return c.log.level; }, level_problem)}}};
}

}  // namespace sunkeep::config
