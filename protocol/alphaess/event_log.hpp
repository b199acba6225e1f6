// Command 9 message content: the EventLog entry list (alphaess.md §7).
#pragma once

#include "common/civil_time.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

struct EventEntry {
  CivilTime device_time;
  std::string code;
};

struct EventList {
  std::vector<EventEntry> entries;  // newest first, as sent
  std::vector<std::string> unparsed;  // entries kept raw because they did not parse
};

// "YY/MM/DD hh:mm:ss <code>;" repeated; a trailing ';' is optional.
EventList parse_event_log(std::string_view content);

}  // namespace sunkeep::alphaess
