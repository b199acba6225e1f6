// Command 12: CSV backfill packets, header plus one-minute rows (alphaess.md §6.3).
#pragma once

#include "common/civil_time.hpp"
#include "protocol/alphaess/json_fields.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

struct HistoryRow {
  CivilTime device_time;  // Date + Time columns
  std::string serial;     // SN column ("" when absent)
  Fields fields;          // every column but Date and Time, mapped by header name (a repeated
                          // name keeps its first place and its last value)
};

struct HistoryPacket {
  std::vector<HistoryRow> rows;
  std::vector<std::string> problems;  // rows that could not be read, with the reason
};

// Columns are mapped by header name; LF or CRLF; trailing newline optional.
// An empty payload, a missing header or a header without Date/Time is reported as a problem.
HistoryPacket parse_history_csv(std::string_view payload);

}  // namespace sunkeep::alphaess
