// Parses SUNKEEP_WRITER_TUNING entries onto a WriterTuning (tuning_override.hpp).
#include "storage/tuning_override.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace sunkeep::storage {

namespace {

std::uint64_t whole_number(std::string_view entry, std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value == 0) {
    throw std::invalid_argument("bad value in \"" + std::string(entry) + "\": a whole number above 0 is needed");
  }
  return value;
}

void apply(WriterTuning& tuning, std::string_view entry) {
  const auto equals = entry.find('=');
  if (equals == std::string_view::npos) throw std::invalid_argument("\"" + std::string(entry) + "\" is not key=value");
  const std::string_view key = entry.substr(0, equals);
  const std::uint64_t value = whole_number(entry, entry.substr(equals + 1));
  if (key == "drain_interval_ms") {
    tuning.drain_interval = std::chrono::milliseconds(value);
  } else if (key == "drain_threshold") {
    tuning.drain_threshold = value;
  } else if (key == "drain_slice_points") {
    tuning.drain_slice_points = value;
  } else if (key == "batch_delete_step") {
    tuning.batch_delete_step = value;
  } else if (key == "wal_restart_bytes") {
    tuning.wal_restart_bytes = value;
  } else if (key == "wal_limit_bytes") {
    tuning.wal_limit_bytes = value;
  } else if (key == "drain_pause_factor") {
    if (value > 1000) throw std::invalid_argument("bad value in \"" + std::string(entry) + "\": at most 1000");
    tuning.drain_pause_factor = static_cast<int>(value);
  } else if (key == "checkpoint_interval_ms") {
    tuning.checkpoint_interval = std::chrono::milliseconds(value);
  } else if (key == "short_checkpoint_ms") {
    tuning.short_checkpoint = std::chrono::milliseconds(value);
  } else if (key == "failure_pause_ms") {
    tuning.failure_pause = std::chrono::milliseconds(value);
  } else if (key == "max_failure_pause_ms") {
    tuning.max_failure_pause = std::chrono::milliseconds(value);
  } else if (key == "max_page_count") {
    tuning.max_page_count = static_cast<std::int64_t>(std::min<std::uint64_t>(value, 1ULL << 40));
  } else {
    throw std::invalid_argument("unknown key \"" + std::string(key) + "\"");
  }
}

}  // namespace

WriterTuning override_tuning(WriterTuning tuning, std::string_view overrides) {
  while (!overrides.empty()) {
    const auto comma = overrides.find(',');
    apply(tuning, overrides.substr(0, comma));
    overrides = comma == std::string_view::npos ? std::string_view() : overrides.substr(comma + 1);
  }
  return tuning;
}

}  // namespace sunkeep::storage
