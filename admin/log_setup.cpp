// Log level and journal-friendly line format (see log_setup.hpp).
#include "admin/log_setup.hpp"

#include "config/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <string>

namespace sunkeep::admin {

namespace {

using spdlog::level::level_enum;

// "%*" in the journal pattern: "<N>" with N the line's syslog priority.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::array<char, 3> prefix{'<', static_cast<char>('0' + syslog_priority(msg.level)), '>'};
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

}  // namespace

bool under_systemd(const char* journal_stream, const char* invocation_id) {
  const auto set = [](const char* value) { return value != nullptr && *value != '\0'; };
  return set(journal_stream) || set(invocation_id);
}

bool stdout_is_journal_stream(const char* journal_stream) {
  struct stat out {};
  if (journal_stream == nullptr || ::fstat(STDOUT_FILENO, &out) != 0) return false;
  return std::string(journal_stream) == std::to_string(out.st_dev) + ":" + std::to_string(out.st_ino);
}

int syslog_priority(level_enum level) {
  switch (level) {
    case level_enum::trace:
    case level_enum::debug: return 7;  // debug
    case level_enum::info: return 6;   // info
    case level_enum::warn: return 4;   // warning
    case level_enum::err: return 3;    // err
    case level_enum::critical: return 2;  // crit
    default: return 6;
  }
}

LogSettings decide_log_settings(const char* environment_level, level_enum config_level, bool journal) {
  LogSettings settings{.level = config_level, .journal = journal};
  if (environment_level == nullptr || *environment_level == '\0') return settings;
  if (const auto level = config::parse_log_level(environment_level)) {
    settings.level = *level;
  } else {
    settings.ignored_environment = environment_level;
  }
  return settings;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (journal) {
    formatter->add_flag<PriorityFlag>('*').set_pattern("%*%v");
  } else {
    formatter->set_pattern("%+");  // spdlog's own: [date time] [logger] [level] text
  }
  return formatter;
}

void apply_log_settings(const LogSettings& settings) {
  spdlog::set_formatter(make_log_formatter(settings.journal));
  spdlog::set_level(settings.level);
}

void configure_logging(level_enum config_level) {
  // A JOURNAL_STREAM inherited by a program whose output went elsewhere does not count.
  const char* journal_stream = std::getenv("JOURNAL_STREAM");
  const bool journal = under_systemd(stdout_is_journal_stream(journal_stream) ? journal_stream : nullptr, std::getenv("INVOCATION_ID"));
  const LogSettings settings = decide_log_settings(std::getenv("SUNKEEP_LOG_LEVEL"), config_level, journal);
  apply_log_settings(settings);
  if (!settings.ignored_environment.empty()) {
    spdlog::warn("SUNKEEP_LOG_LEVEL=\"{}\" names no level ({}); using {}", settings.ignored_environment,
                 config::log_level_names, spdlog::level::to_string_view(settings.level));
  }
}

}  // namespace sunkeep::admin
