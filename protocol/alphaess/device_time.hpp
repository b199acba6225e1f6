// The device-clock formats of AlphaESS payloads (alphaess.md §5.7).
#pragma once

#include "common/civil_time.hpp"

#include <optional>
#include <string_view>

namespace sunkeep::alphaess {

// "YYYY/MM/DD hh:mm:ss" (commands 16, 5, Resume).
std::optional<CivilTime> parse_device_datetime(std::string_view text);
// "YYYY/MM/DD" and "hh:mm:ss" in separate columns (command 12).
std::optional<CivilTime> parse_device_date_and_time(std::string_view date, std::string_view time);
// "YY/MM/DD hh:mm:ss", year 20YY (EventLog entries).
std::optional<CivilTime> parse_event_datetime(std::string_view text);

}  // namespace sunkeep::alphaess
