// Command-12 CSV decoding.
#include "protocol/alphaess/history_csv.hpp"

#include "protocol/alphaess/device_time.hpp"

#include <algorithm>

namespace sunkeep::alphaess {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::vector<std::string_view> lines_of(std::string_view payload) {
  std::vector<std::string_view> lines;
  for (std::string_view line : split(payload, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::ptrdiff_t column_of(const std::vector<std::string_view>& header, std::string_view name) {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : it - header.begin();
}

// Where each column goes in a row's fields: a name's first column gives it a field, a repeated
// name shares that field (so its last value wins, as for a JSON object), Date and Time have none
// (-1). `names` gets the field names in order.
std::vector<std::ptrdiff_t> field_slots(const std::vector<std::string_view>& header, std::ptrdiff_t date_col,
                                        std::ptrdiff_t time_col, std::vector<std::string_view>& names) {
  std::vector<std::ptrdiff_t> slots;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const auto column = static_cast<std::ptrdiff_t>(c);
    if (column == date_col || column == time_col) {
      slots.push_back(-1);
      continue;
    }
    const auto known = std::find(names.begin(), names.end(), header[c]);
    slots.push_back(known - names.begin());
    if (known == names.end()) names.push_back(header[c]);
  }
  return slots;
}

}  // namespace

HistoryPacket parse_history_csv(std::string_view payload) {
  HistoryPacket packet;
  const auto lines = lines_of(payload);
  if (lines.empty()) {
    packet.problems.emplace_back("empty CSV payload");
    return packet;
  }
  const auto header = split(lines[0], ',');
  const std::ptrdiff_t date_col = column_of(header, "Date");
  const std::ptrdiff_t time_col = column_of(header, "Time");
  if (date_col < 0 || time_col < 0) {
    packet.problems.emplace_back("CSV header has no Date and Time columns");
    return packet;
  }
  if (lines.size() == 1) packet.problems.emplace_back("CSV packet has a header and no rows");
  std::vector<std::string_view> names;
  const auto slots = field_slots(header, date_col, time_col, names);
  Fields blank;
  for (const auto name : names) blank.push_back({std::string(name), {}});

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto cells = split(lines[i], ',');
    if (cells.size() != header.size()) {
      packet.problems.push_back("CSV row " + std::to_string(i) + " has " + std::to_string(cells.size()) +
                                " cells, header has " + std::to_string(header.size()));
      continue;
    }
    const auto time = parse_device_date_and_time(cells[static_cast<std::size_t>(date_col)],
                                                 cells[static_cast<std::size_t>(time_col)]);
    if (!time) {
      packet.problems.push_back("CSV row " + std::to_string(i) + " has no valid Date/Time");
      continue;
    }
    HistoryRow row{.device_time = *time, .serial = {}, .fields = blank};
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (slots[c] < 0) continue;
      row.fields[static_cast<std::size_t>(slots[c])].value = cells[c];
    }
    if (const auto* serial = find_field(row.fields, "SN")) row.serial = *serial;
    packet.rows.push_back(std::move(row));
  }
  return packet;
}

}  // namespace sunkeep::alphaess
