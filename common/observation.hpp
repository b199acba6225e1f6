// The vendor-neutral vocabulary: a Reading is one decoded value, an Observation is what one device
// said (or was sent) at one moment. Each vendor turns its decoded messages into observations with
// a pure function beside its codec; storage/ingest.hpp stores them inside the writer's group
// commit, fills in what only storage knows (UTC times from device clocks, record outcomes), and
// the output sinks receive them once committed.
#pragma once

#include "common/civil_time.hpp"
#include "common/time_zone.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep {

// One decoded numeric value under its vendor name (`canonical` false) or its canonical name of
// interfaces.md §4 (`canonical` true).
struct Reading {
  std::string name;
  std::string unit;  // "" when the quantity has none (codes, counts)
  double value = 0;
  bool canonical = false;

  friend bool operator==(const Reading&, const Reading&) = default;
};

// A value under its vendor name, and one under its canonical name.
inline Reading vendor_reading(std::string name, std::string_view unit, double value) {
  return Reading{std::move(name), std::string(unit), value, false};
}
inline Reading canonical_reading(std::string_view name, std::string_view unit, double value) {
  return Reading{std::string(name), std::string(unit), value, true};
}

enum class FrameDirection : int { from_device = 0, to_device = 1 };

namespace frame_flag {
inline constexpr int bad_checksum = 1;
inline constexpr int redacted = 2;
inline constexpr int rc4 = 4;
}  // namespace frame_flag

// A frame as it goes into the raw archive (secrets already removed).
struct RawFrame {
  FrameDirection direction = FrameDirection::from_device;
  std::int64_t command = 0;  // what interfaces.md §3 `frames` shows as `command` (SMA's are 32-bit words)
  std::vector<std::uint8_t> bytes;
  int flags = 0;  // frame_flag bits
};

enum class RecordOutcome { not_stored, inserted, duplicate, conflict };

// A record stamped by the device's own clock, stored once per (device, kind, device time).
struct DeviceRecord {
  std::string serial;  // "" = the observation's device
  int kind = 0;
  CivilTime device_time;
  std::int64_t fields_hash = 0;  // tells a repeat (same hash) from a conflict
  bool tracks_clock = false;     // a live record: its time is a clock-offset sample when new
  std::vector<Reading> readings;
  // Filled in by the ingest.
  UtcMillis utc = 0;
  RecordOutcome outcome = RecordOutcome::not_stored;
};

struct DeviceEvent {
  std::string source;                     // "EventLog", "alarm", a message type, …
  std::optional<CivilTime> device_time;   // when the device stamped it (an EventLog entry)
  std::optional<std::string> code;
  std::optional<std::string> text;
  // Filled in by the ingest: the device time as UTC, else the receive time.
  UtcMillis utc = 0;
  // Filled in by the ingest: false when the event was stored before (a repeated EventLog entry).
  bool stored = false;
};

// A command sunkeep sent (`status` empty) or the device's answer to one.
struct CommandNote {
  std::string cmd_index;
  std::string command;
  std::optional<std::string> status;
};

struct Observation {
  std::string vendor;
  std::string serial;  // "" while the connection has not named its device
  std::string peer;    // "address:port"
  UtcMillis received = 0;
  // How often this observation's kind of data arrives (freshness, interfaces.md §4): its record's
  // cadence, or the poll interval. 0 for observations without values.
  std::int64_t cadence_ms = 0;
  // The zone of the device clock, for records and events stamped with device times.
  const TimeZone* device_zone = nullptr;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
  // The serial of the device (same vendor) this one is reached through, e.g. an inverter's gateway.
  std::optional<std::string> parent;
  std::vector<RawFrame> frames;    // archived first; records and events point to the first from the device
  std::vector<Reading> readings;   // values with no device time, at `received`
  std::vector<DeviceRecord> records;
  std::vector<DeviceEvent> events;
  std::optional<std::string> config_json;  // a configuration snapshot (stored when it changed)
  std::string personal_keys_json = "[]";   // the snapshot's keys the API hides unless configured
  std::optional<CommandNote> command;
  // Record kinds whose newest stored record, before this observation, the ingest reports.
  std::vector<int> history_kinds;
  // Filled in by the ingest: the device's clock offset (device clock minus server clock) once
  // known.
  std::optional<std::int64_t> clock_offset_ms;

  // "<vendor>:<serial>", the device id of interfaces.md §3.
  [[nodiscard]] std::string device_id() const { return vendor + ":" + serial; }
};

}  // namespace sunkeep
