// AlphaESS frames as observations.
#include "protocol/alphaess/observation.hpp"

#include "common/fields_hash.hpp"
#include "protocol/alphaess/metrics.hpp"
#include "protocol/alphaess/redaction.hpp"

#include <nlohmann/json.hpp>

namespace sunkeep::alphaess {

namespace {

constexpr std::int64_t realtime_cadence_ms = 10'000;
constexpr std::int64_t five_minute_cadence_ms = 300'000;
constexpr std::int64_t minute_cadence_ms = 60'000;

DeviceRecord record_of(const TelemetryRecord& record) {
  return {.serial = record.serial,
          .kind = static_cast<int>(record.kind),
          .device_time = record.device_time,
          .fields_hash = fields_hash(fields_to_json(record.fields)),
          // Live records track the device clock; backfilled minute rows are old by design.
          .tracks_clock = record.kind != RecordKind::minute,
          .readings = numeric_samples(record.fields)};
}

void add_telemetry(const Telemetry& telemetry, Observation& seen) {
  for (const auto& record : telemetry.records) seen.records.push_back(record_of(record));
  if (!telemetry.records.empty()) seen.cadence_ms = cadence_ms(telemetry.records.front().kind);
}

void add_device_message(const DeviceMessage& message, Observation& seen) {
  if (message.msg_type != "EventLog") {
    seen.events.push_back({.source = message.msg_type.empty() ? "message" : message.msg_type,
                           .device_time = std::nullopt, .code = std::nullopt, .text = message.content});
    return;
  }
  for (const auto& entry : message.events.entries) {
    seen.events.push_back({.source = "EventLog", .device_time = entry.device_time, .code = entry.code,
                           .text = std::nullopt});
  }
  for (const auto& raw : message.events.unparsed) {
    seen.events.push_back({.source = "EventLog", .device_time = std::nullopt, .code = std::nullopt, .text = raw});
  }
}

std::optional<std::string> field_value(const Fields& fields, std::string_view key) {
  const std::string* value = find_field(fields, key);
  return value ? std::optional(*value) : std::nullopt;
}

void add_config(const ConfigUpload& upload, Observation& seen) {
  nlohmann::json personal = nlohmann::json::array();
  for (auto key : personal_keys) {
    if (find_field(upload.fields, key)) personal.push_back(key);
  }
  seen.config_json = fields_to_json(upload.fields);
  seen.personal_keys_json = personal.dump();
  seen.model = field_value(upload.fields, "Minv");
  seen.firmware = field_value(upload.fields, "EMSVersion");
}

void add_message(const Message& message, Observation& seen) {
  if (const auto* t = std::get_if<Telemetry>(&message)) {
    add_telemetry(*t, seen);
  } else if (const auto* m = std::get_if<DeviceMessage>(&message)) {
    add_device_message(*m, seen);
  } else if (const auto* u = std::get_if<ConfigUpload>(&message)) {
    add_config(*u, seen);
  } else if (const auto* a = std::get_if<CommandAnswer>(&message)) {
    seen.command = CommandNote{.cmd_index = a->cmd_index, .command = a->command, .status = a->status};
  }
}

}  // namespace

std::int64_t cadence_ms(RecordKind kind) {
  switch (kind) {
    case RecordKind::realtime: return realtime_cadence_ms;
    case RecordKind::five_minute: return five_minute_cadence_ms;
    case RecordKind::minute: return minute_cadence_ms;
  }
  return realtime_cadence_ms;
}

Observation observe(const ReceivedFrame& in) {
  Observation seen{.vendor = vendor_name, .serial = in.connection_serial, .peer = in.peer, .received = in.received,
                   .device_zone = in.zone};
  seen.frames.push_back({.direction = FrameDirection::from_device, .command = in.frame.command(),
                         .bytes = archive_copy(in.frame)});
  if (!in.reply.empty()) {
    seen.frames.push_back({.direction = FrameDirection::to_device, .command = in.reply[2], .bytes = in.reply});
  }
  add_message(in.message, seen);
  if (in.binds_serial) seen.history_kinds.assign(std::begin(telemetry_kinds), std::end(telemetry_kinds));
  return seen;
}

Observation observe_command_sent(const std::string& serial, const std::string& peer, UtcMillis sent,
                                 const std::vector<std::uint8_t>& bytes, const std::string& cmd_index,
                                 const std::string& command) {
  Observation seen{.vendor = vendor_name, .serial = serial, .peer = peer, .received = sent};
  seen.frames.push_back({.direction = FrameDirection::to_device, .command = bytes[2], .bytes = bytes});
  seen.command = CommandNote{.cmd_index = cmd_index, .command = command, .status = std::nullopt};
  return seen;
}

}  // namespace sunkeep::alphaess
