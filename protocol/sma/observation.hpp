// SMA → the vendor-neutral vocabulary (sma-speedwire.md §9.5): what an inverter's answered
// queries and a meter's datagrams mean as vendor and canonical readings, device info and events,
// and the datagrams as the raw archive keeps them (login passwords zeroed). Pure.
#pragma once

#include "common/observation.hpp"
#include "protocol/sma/meter.hpp"
#include "protocol/sma/records.hpp"
#include "protocol/sma/requests.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::sma {

inline constexpr std::uint32_t class_solar_inverter = 8001;
inline constexpr std::uint32_t class_hybrid_inverter = 8009;

// What one answered query means.
struct Decoded {
  std::vector<Reading> readings;
  std::vector<DeviceEvent> events;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
};

// Decodes an inverter's replies, remembering what the mapping needs across them: the device class
// (from the type label), whether this cycle's AC total was valid, and the last status tags (a
// status event is raised when a tag differs from the last one seen since start).
class InverterDecoder {
 public:
  void cycle_started() { ac_total_valid_ = false; }
  Decoded decode(Query query, const std::vector<Record>& records);

  [[nodiscard]] std::optional<std::uint32_t> device_class() const { return device_class_; }

 private:
  void decode_record(const Record& record, Decoded& out);
  static bool superseded(const Record& record, const std::vector<Record>& records);
  void decode_status(const Record& record, Decoded& out);
  void decode_type_label(const std::vector<Record>& records, Decoded& out);
  void add_sums(Query query, const std::vector<Record>& records, Decoded& out) const;
  [[nodiscard]] bool pv_class() const;

  std::optional<std::uint32_t> device_class_;
  bool ac_total_valid_ = false;
  std::map<std::uint16_t, std::uint32_t> statuses_;  // LRI → last selected tag
};

// A meter datagram's readings (vendor and canonical) and its model and firmware.
struct MeterReadings {
  std::vector<Reading> readings;
  std::string model;
  std::optional<std::string> firmware;
};
MeterReadings meter_readings(const MeterDatagram& meter);

// The names of the meter's lifetime counters among its readings.
bool is_meter_counter(const Reading& reading);

// A datagram as the archive keeps it: a login's password bytes zeroed (flag `redacted`).
RawFrame archived(std::span<const std::uint8_t> datagram, FrameDirection direction);

// The text of a status tag ("Ok", "Closed", …) or "" when unknown.
std::string status_text(std::uint32_t tag);

}  // namespace sunkeep::sma
