// Typed AlphaESS messages, decoded from a frame by its command code alone (alphaess.md §3, §6, §7).
#pragma once

#include "common/civil_time.hpp"
#include "protocol/alphaess/event_log.hpp"
#include "protocol/alphaess/frame.hpp"
#include "protocol/alphaess/json_fields.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sunkeep::alphaess {

enum class RecordKind : std::uint8_t { realtime = 1, five_minute = 2, minute = 3 };

const char* to_string(RecordKind kind);

// One telemetry record: a command-16 or command-5 payload, or one command-12 CSV row.
struct TelemetryRecord {
  RecordKind kind = RecordKind::realtime;
  std::string serial;     // the record's own SN ("" when it has none)
  CivilTime device_time;  // naive device-local clock reading
  Fields fields;          // every key as sent (Time/Date excluded for CSV rows)
};

struct EmptyMessage {};                  // command 0
struct LoginMessage { std::string serial; };   // command 2 (the password is never kept here)
struct SerialQuery { std::string serial; };    // command 3
struct ConfigUpload { std::string serial; Fields fields; };  // command 4
struct Telemetry {                       // commands 16, 5 and 12
  std::vector<TelemetryRecord> records;
  std::vector<std::string> problems;     // parts that could not be decoded
};
struct DeviceMessage {                   // command 9: EventLog, Socket, System, …
  std::string msg_type;
  std::string content;
  std::string description;
  EventList events;                      // filled for MsgType EventLog only
};
struct CommandAnswer {                   // the device's `1,2,8`
  std::string command;
  std::string cmd_index;
  std::string status;
};
struct UnknownMessage {};                // a command code with no known meaning
struct DecodeFailure { std::string reason; };

using Message = std::variant<EmptyMessage, LoginMessage, SerialQuery, ConfigUpload, Telemetry,
                             DeviceMessage, CommandAnswer, UnknownMessage, DecodeFailure>;

// Decodes a frame's payload. Never throws for any input; what it cannot read is a DecodeFailure.
Message decode_message(const Frame& frame);

// The serial a message names (login UserName or SN), "" when it names none.
std::string serial_of(const Message& message);

}  // namespace sunkeep::alphaess
