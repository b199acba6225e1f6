// The APsystems mapping.
#include "protocol/apsystems/observation.hpp"

#include "common/hex.hpp"

#include <numeric>

namespace sunkeep::apsystems {

DeviceEvent event(std::string code, std::string text) {
  DeviceEvent e;
  e.source = std::string(vendor_name);
  e.code = std::move(code);
  e.text = std::move(text);
  return e;
}

std::string inverter_model(const InverterRecord& record) {
  const std::string family = inverter_family(record.uid);
  const std::string type = "type " + record.type_code;
  return family.empty() ? type : family + " (" + type + ")";
}

RawFrame archived(std::span<const std::uint8_t> bytes, Command command, FrameDirection direction) {
  return RawFrame{.direction = direction, .command = static_cast<std::int64_t>(command), .bytes = {bytes.begin(), bytes.end()}};
}

Update EcuMapper::ecu_info(const EcuInfo& info, UtcMillis received) {
  DeviceUpdate ecu{.serial = info.ecu_id, .model = ecu_model(info.ecu_id), .firmware = info.firmware};
  ecu.readings.push_back(vendor_reading("current_power", "W", info.current_power_w));
  ecu.readings.push_back(canonical_reading("pv_power", "W", info.current_power_w));
  add_today(info, received, ecu);
  add_lifetime(info.lifetime_energy_kwh, ecu);
  ecu.readings.push_back(vendor_reading("inverters", "", info.inverters));
  ecu.readings.push_back(vendor_reading("inverters_online", "", info.inverters_online));
  Update update;
  update.ecu = std::move(ecu);
  return update;
}

// A lifetime counter of 0, or below the last one stored, is a firmware glitch: not stored.
void EcuMapper::add_lifetime(double kwh, DeviceUpdate& out) {
  if (kwh <= 0 || (lifetime_kwh_ && kwh < *lifetime_kwh_)) {
    if (!lifetime_glitch_reported_) {
      lifetime_glitch_reported_ = true;
      const std::string why = kwh <= 0 ? "0" : "below the last stored " + std::to_string(*lifetime_kwh_) + " kWh";
      out.events.push_back(event("lifetime_energy_glitch",
                                 "the ECU reported a lifetime energy of " + std::to_string(kwh) + " kWh (" + why +
                                     "); not stored"));
    }
    return;
  }
  lifetime_glitch_reported_ = false;
  lifetime_kwh_ = kwh;
  out.readings.push_back(vendor_reading("lifetime_energy", "kWh", kwh));
  out.readings.push_back(canonical_reading("pv_energy_total", "kWh", kwh));
}

// Today's energy of 0 while inverters are online, less than an hour after a reading above 0, is a
// firmware glitch: not stored.
void EcuMapper::add_today(const EcuInfo& info, UtcMillis received, DeviceUpdate& out) {
  const double kwh = info.today_energy_kwh;
  const bool recent_positive = today_ && today_->first > 0 && received - today_->second < today_glitch_window_ms;
  if (kwh == 0 && info.inverters_online > 0 && recent_positive) return;
  today_ = std::pair(kwh, received);
  out.readings.push_back(vendor_reading("today_energy", "kWh", kwh));
  out.readings.push_back(canonical_reading("pv_energy_today", "kWh", kwh));
}

Update EcuMapper::realtime(const Realtime& realtime) {
  Update update;
  if (realtime.no_data()) return update;
  for (const auto& record : realtime.records) update.inverter_states.emplace_back(record.uid, record.online());
  if (last_timestamp_ && realtime.timestamp && *last_timestamp_ == realtime.timestamp) {
    update.duplicate = true;
    return update;
  }
  last_timestamp_ = realtime.timestamp;
  signal_wanted_ = true;
  online_when_stored_.clear();
  for (const auto& record : realtime.records) {
    if (record.online()) online_when_stored_.insert(record.uid);
    update.inverters.push_back(inverter_update(record, update));
  }
  return update;
}

DeviceUpdate EcuMapper::inverter_update(const InverterRecord& record, Update& update) {
  DeviceUpdate out{.serial = record.uid, .model = inverter_model(record)};
  if (record.type_code == "00" && reported_no_data_.insert(record.uid).second) {
    out.events.push_back(event("registered_no_data", "inverter " + record.uid + " is registered but has sent no data yet"));
  }
  if (!record.readable) {
    ++update.unknown_records;
    if (reported_unknown_.emplace(record.uid, record.type_code).second) {
      out.events.push_back(event("unknown_type", "inverter " + record.uid + " has type code '" + record.type_code +
                                                     "' that sunkeep cannot read; record " + to_hex(record.raw)));
    }
  }
  const bool with_values = record.online() && record.decoded;
  out.readings.push_back(vendor_reading("online", "", record.online() ? 1 : 0));
  if (with_values) add_values(record, out);
  return out;
}

void EcuMapper::add_values(const InverterRecord& record, DeviceUpdate& out) const {
  for (std::size_t i = 0; i < record.powers_w.size(); ++i) {
    out.readings.push_back(vendor_reading("power_" + std::to_string(i + 1), "W", record.powers_w[i]));
  }
  for (std::size_t i = 0; i < record.voltages_v.size(); ++i) {
    out.readings.push_back(vendor_reading("voltage_" + std::to_string(i + 1), "V", record.voltages_v[i]));
  }
  out.readings.push_back(vendor_reading("frequency", "Hz", record.frequency_hz));
  out.readings.push_back(vendor_reading("temperature", "°C", record.temperature_c));
  const double total = std::accumulate(record.powers_w.begin(), record.powers_w.end(), 0.0);
  out.readings.push_back(canonical_reading("pv_power", "W", total));
  out.readings.push_back(canonical_reading("grid_frequency", "Hz", record.frequency_hz));
  out.readings.push_back(canonical_reading("inverter_temperature", "°C", record.temperature_c));
}

Update EcuMapper::signal(const Signal& signal) {
  Update update;
  if (signal.no_data() || !signal_wanted_) return update;
  signal_wanted_ = false;
  for (const auto& level : signal.levels) {
    if (!online_when_stored_.contains(level.uid)) continue;
    DeviceUpdate out{.serial = level.uid};
    out.readings.push_back(vendor_reading("signal_level", "", level.level));
    out.readings.push_back(canonical_reading("signal_strength", "%", level.level * 100.0 / 255.0));
    update.inverters.push_back(std::move(out));
  }
  return update;
}

}  // namespace sunkeep::apsystems
