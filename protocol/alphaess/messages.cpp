// Decoding AlphaESS frames into typed messages.
#include "protocol/alphaess/messages.hpp"

#include "protocol/alphaess/device_time.hpp"
#include "protocol/alphaess/history_csv.hpp"

namespace sunkeep::alphaess {

namespace {

std::string value_or_empty(const Fields& fields, std::string_view key) {
  const std::string* v = find_field(fields, key);
  return v ? *v : std::string{};
}

Message decode_json_record(const Fields& fields, RecordKind kind) {
  const std::string* time_text = find_field(fields, "Time");
  const auto time = time_text ? parse_device_datetime(*time_text) : std::nullopt;
  if (!time) return DecodeFailure{"record has no valid Time"};
  Telemetry t;
  t.records.push_back({kind, value_or_empty(fields, "SN"), *time, fields});
  return t;
}

Message decode_history(std::string_view payload) {
  HistoryPacket packet = parse_history_csv(payload);
  if (packet.rows.empty()) {
    return DecodeFailure{packet.problems.empty() ? "no rows" : packet.problems.front()};
  }
  Telemetry t;
  t.problems = std::move(packet.problems);
  for (auto& row : packet.rows) {
    t.records.push_back({RecordKind::minute, std::move(row.serial), row.device_time, std::move(row.fields)});
  }
  return t;
}

Message decode_device_message(const Fields& fields) {
  DeviceMessage m{value_or_empty(fields, "MsgType"), value_or_empty(fields, "MsgContent"),
                  value_or_empty(fields, "Description"), {}};
  if (m.msg_type == "EventLog") m.events = parse_event_log(m.content);
  return m;
}

Message decode_initiating(const Frame& frame, const Fields& fields) {
  switch (frame.command()) {
    case command::login:
      return LoginMessage{value_or_empty(fields, "UserName")};
    case command::serial_query:
      return SerialQuery{value_or_empty(fields, "SN")};
    case command::config_upload:
      return ConfigUpload{value_or_empty(fields, "SN"), fields};
    case command::five_minute:
      return decode_json_record(fields, RecordKind::five_minute);
    case command::realtime:
      return decode_json_record(fields, RecordKind::realtime);
    case command::event_message:
      return decode_device_message(fields);
    default:
      return UnknownMessage{};
  }
}

bool is_known_initiating(std::uint8_t code) {
  switch (code) {
    case command::login:
    case command::serial_query:
    case command::config_upload:
    case command::five_minute:
    case command::realtime:
    case command::event_message:
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* to_string(RecordKind kind) {
  switch (kind) {
    case RecordKind::realtime:
      return "realtime";
    case RecordKind::five_minute:
      return "five_min";
    case RecordKind::minute:
      return "minute";
  }
  return "unknown";
}

Message decode_message(const Frame& frame) {
  const std::string_view payload = frame.payload();
  if (frame.is_initiating()) {
    if (frame.command() == command::hello && payload.empty()) return EmptyMessage{};
    if (frame.command() == command::history_csv) return decode_history(payload);
    if (!is_known_initiating(frame.command())) return UnknownMessage{};
  } else if (!(frame.is_reply() && frame.command() == command::server_command)) {
    return UnknownMessage{};
  }
  std::string error;
  const auto fields = parse_json_object(payload, error);
  if (!fields) return DecodeFailure{"bad JSON: " + error};
  if (frame.is_reply()) {
    return CommandAnswer{value_or_empty(*fields, "Command"), value_or_empty(*fields, "CmdIndex"),
                         value_or_empty(*fields, "Status")};
  }
  return decode_initiating(frame, *fields);
}

std::string serial_of(const Message& message) {
  if (const auto* m = std::get_if<LoginMessage>(&message)) return m->serial;
  if (const auto* m = std::get_if<SerialQuery>(&message)) return m->serial;
  if (const auto* m = std::get_if<ConfigUpload>(&message)) return m->serial;
  if (const auto* m = std::get_if<Telemetry>(&message)) {
    for (const auto& r : m->records) {
      if (!r.serial.empty()) return r.serial;
    }
  }
  return {};
}

}  // namespace sunkeep::alphaess
