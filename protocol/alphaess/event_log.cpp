// EventLog entry parsing.
#include "protocol/alphaess/event_log.hpp"

#include "protocol/alphaess/device_time.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <cctype>

namespace sunkeep::alphaess {

namespace {

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}
}  // namespace

EventList parse_event_log(std::string_view content) {
  EventList list;
  while (!content.empty()) {
    const std::size_t end = content.find(';');
    const std::string_view entry = trim(content.substr(0, end));
    content = end == std::string_view::npos ? std::string_view{} : content.substr(end + 1);
    if (entry.empty()) continue;
    const std::size_t last_space = entry.rfind(' ');
    const std::string_view code = last_space == std::string_view::npos ? "" : entry.substr(last_space + 1);
    const auto time = last_space == std::string_view::npos ? std::nullopt
                                                            : parse_event_datetime(entry.substr(0, last_space));
    if (time && all_digits(code)) {
      list.entries.push_back({*time, std::string(code)});
    } else {
      list.unparsed.emplace_back(entry);
    }
  }
  return list;
}

}  // namespace sunkeep::alphaess
