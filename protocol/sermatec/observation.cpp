// Sermatec frames as observations.
#include "protocol/sermatec/observation.hpp"

#include "protocol/sermatec/alarms.hpp"

namespace sunkeep::sermatec {

namespace {

constexpr std::uint8_t battery_answer = 0x0A;

int flags_of(const Frame& frame, bool redacted) {
  return (frame.checksum_ok ? 0 : frame_flag::bad_checksum) | (redacted ? frame_flag::redacted : 0) |
         (frame.from_rc4 ? frame_flag::rc4 : 0);
}

void add_values(const FrameSeen& in, std::span<const std::uint8_t> payload, const Layout& layout,
                AnswerMemory& memory, Observation& seen, std::vector<std::string>& notes) {
  const std::uint8_t code = in.frame.code();
  Decoded decoded = decode_payload(layout, payload);
  if (code == battery_answer) memory.cycle_battery_status = decoded.number("bat_status");
  std::vector<Reading> canonical = canonical_metrics(code, decoded, memory.cycle_battery_status);
  for (auto& alarm : raised_alarms(code, decoded, in.battery_brand, memory.alarm_words)) {
    seen.events.push_back({.source = std::move(alarm.source), .device_time = std::nullopt,
                           .code = std::move(alarm.code), .text = std::move(alarm.text)});
  }
  seen.readings = std::move(decoded.numbers);
  for (auto& reading : canonical) {
    reading.canonical = true;
    seen.readings.push_back(std::move(reading));
  }
  for (auto& note : decoded.notes) notes.push_back(std::move(note));
}

}  // namespace

Observation observe(const FrameSeen& in, AnswerMemory& memory, std::vector<std::string>& notes) {
  bool redacted = false;
  std::vector<std::uint8_t> raw = redact_secrets(in.frame.raw, redacted);
  Observation seen{.vendor = vendor_name, .serial = in.serial, .peer = in.peer, .received = in.time,
                   .cadence_ms = in.poll_interval_ms};
  const Layout* layout = in.definitions.layout(in.frame.code());
  if (!in.outgoing && in.frame.is_answer() && layout) {
    add_values(in, std::span<const std::uint8_t>(raw).subspan(header_size, raw[6]), *layout, memory, seen, notes);
  }
  seen.frames.push_back({.direction = in.outgoing ? FrameDirection::to_device : FrameDirection::from_device,
                         .command = in.frame.code(), .bytes = std::move(raw), .flags = flags_of(in.frame, redacted)});
  return seen;
}

Observation observe_identity(const Identity& identity, const std::string& peer, UtcMillis time) {
  return {.vendor = vendor_name, .serial = identity.serial, .peer = peer, .received = time,
          .model = model_name(identity.model_code), .firmware = std::to_string(identity.pcu_version)};
}

}  // namespace sunkeep::sermatec
