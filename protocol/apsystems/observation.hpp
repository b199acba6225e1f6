// APsystems → the vendor-neutral vocabulary (apsystems-ecu.md §11.3–§11.4): what an ECU's decoded
// 0001, 0002 and 0030 replies mean as vendor and canonical readings, device info and events for
// the ECU and each inverter, with the storage rules: 0002 de-duplicated by the ECU's timestamp,
// 0030 levels only in cycles whose 0002 was stored and only for inverters online in it, offline
// and type-00 inverters reduced to `online`, unknown types reported once, and the energy glitch
// filters. Pure: times come in as arguments.
#pragma once

#include "common/civil_time.hpp"
#include "common/observation.hpp"
#include "protocol/apsystems/codec.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sunkeep::apsystems {

// What one reply says about one device (the ECU or an inverter).
struct DeviceUpdate {
  std::string serial;  // ECU id, or inverter UID (12 lowercase hex digits)
  std::vector<Reading> readings;
  std::vector<DeviceEvent> events;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
};

struct Update {
  std::optional<DeviceUpdate> ecu;
  std::vector<DeviceUpdate> inverters;
  // Every inverter of a 0002 reply and whether its state byte says online (stored or not).
  std::vector<std::pair<std::string, bool>> inverter_states;
  int unknown_records = 0;  // records of a type sunkeep cannot read
  bool duplicate = false;   // a 0002 with the timestamp of the last one stored: nothing stored
};

class EcuMapper {
 public:
  static constexpr std::int64_t today_glitch_window_ms = 60LL * 60 * 1000;

  // A new cycle: its 0030 is stored only if its 0002 is.
  void cycle_started() { signal_wanted_ = false; }

  Update ecu_info(const EcuInfo& info, UtcMillis received);
  Update realtime(const Realtime& realtime);
  Update signal(const Signal& signal);

  // The last lifetime energy stored for this ECU before a restart (the glitch filter's baseline).
  void remember_lifetime(double kwh) { lifetime_kwh_ = kwh; }

 private:
  DeviceUpdate inverter_update(const InverterRecord& record, Update& update);
  void add_values(const InverterRecord& record, DeviceUpdate& out) const;
  void add_lifetime(double kwh, DeviceUpdate& out);
  void add_today(const EcuInfo& info, UtcMillis received, DeviceUpdate& out);

  bool signal_wanted_ = false;
  std::optional<std::optional<std::string>> last_timestamp_;  // of the last 0002 stored
  std::set<std::string> online_when_stored_;                   // inverters online in that 0002
  std::set<std::string> reported_no_data_;                     // UIDs
  std::set<std::pair<std::string, std::string>> reported_unknown_;  // (UID, type code)
  std::optional<double> lifetime_kwh_;
  bool lifetime_glitch_reported_ = false;
  std::optional<std::pair<double, UtcMillis>> today_;  // the last today's energy stored, and when
};

// An event of source "apsystems".
DeviceEvent event(std::string code, std::string text);

// The inverter's model text: its family and type code, e.g. "DS3 (type 01)".
std::string inverter_model(const InverterRecord& record);

// A reply or request as the archive keeps it.
RawFrame archived(std::span<const std::uint8_t> bytes, Command command, FrameDirection direction);

}  // namespace sunkeep::apsystems
