// How sunkeep logs on its host: the level (SUNKEEP_LOG_LEVEL wins over [log] level) and the line
// format. Under systemd (JOURNAL_STREAM or INVOCATION_ID set) a line carries no timestamp of its own
// (the journal adds one) and starts with a syslog priority such as "<4>", so `journalctl -p warning`
// filters sunkeep's lines like any other service's.
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace sunkeep::admin {

// Whether the process runs as a systemd service with its output in the journal.
bool under_systemd(const char* journal_stream, const char* invocation_id);

// Whether standard output is the journal stream JOURNAL_STREAM ("<device>:<inode>") names.
bool stdout_is_journal_stream(const char* journal_stream);

// The syslog priority (RFC 5424 severity) the journal files a line of `level` under.
int syslog_priority(spdlog::level::level_enum level);

struct LogSettings {
  spdlog::level::level_enum level = spdlog::level::info;
  bool journal = false;            // syslog priority prefixes, no timestamp
  std::string ignored_environment;  // a SUNKEEP_LOG_LEVEL that names no level ("" when fine)
};

// Decides the settings: the environment's level when it names one, else the config's.
LogSettings decide_log_settings(const char* environment_level, spdlog::level::level_enum config_level,
                                bool journal);

// The line format: spdlog's own, or for the journal "<N>" + the text (no timestamp).
std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal);

// Applies settings to spdlog's default logger (pattern and level).
void apply_log_settings(const LogSettings& settings);

// Reads the process environment and applies the result; logs a warning for a bad SUNKEEP_LOG_LEVEL.
void configure_logging(spdlog::level::level_enum config_level = spdlog::level::info);

}  // namespace sunkeep::admin
