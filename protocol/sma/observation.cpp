// SMA → readings, device info and events.
#include "protocol/sma/observation.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace sunkeep::sma {

namespace {

// A register that maps to one vendor metric: name (the record class is appended when per MPPT),
// unit and the divisor of the raw value.
struct Metric {
  std::uint16_t lri;
  std::string_view name;
  std::string_view unit;
  double divisor;
  bool per_mppt = false;
  std::string_view canonical = "";  // the canonical name it also gives, if any
};

constexpr std::array metrics{
    Metric{0x2601, "yield_total", "kWh", 1000, false, "pv_energy_total"},
    Metric{0x2622, "yield_today", "kWh", 1000, false, "pv_energy_today"},
    Metric{0x462E, "operating_time", "h", 3600},
    Metric{0x462F, "feed_in_time", "h", 3600},
    Metric{0x251E, "dc_power", "W", 1, true},
    Metric{0x451E, "dc_power", "W", 1, true},  // the SB1600TL-10's register for the same value
    Metric{0x451F, "dc_voltage", "V", 100, true},
    Metric{0x4521, "dc_current", "A", 1000, true},
    Metric{0x263F, "ac_power_total", "W", 1, false, "ac_power"},
    Metric{0x4640, "ac_power_l1", "W", 1},
    Metric{0x4641, "ac_power_l2", "W", 1},
    Metric{0x4642, "ac_power_l3", "W", 1},
    Metric{0x4648, "ac_voltage_l1", "V", 100},
    Metric{0x4649, "ac_voltage_l2", "V", 100},
    Metric{0x464A, "ac_voltage_l3", "V", 100},
    Metric{0x464B, "ac_voltage_l1_l2", "V", 100},
    Metric{0x464C, "ac_voltage_l2_l3", "V", 100},
    Metric{0x464D, "ac_voltage_l3_l1", "V", 100},
    Metric{0x4650, "ac_current_l1", "A", 1000},
    Metric{0x4651, "ac_current_l2", "A", 1000},
    Metric{0x4652, "ac_current_l3", "A", 1000},
    Metric{0x4653, "ac_current_l1", "A", 1000},
    Metric{0x4654, "ac_current_l2", "A", 1000},
    Metric{0x4655, "ac_current_l3", "A", 1000},
    Metric{0x4657, "ac_frequency", "Hz", 100, false, "grid_frequency"},
    Metric{0x2377, "temperature", "°C", 100, false, "inverter_temperature"},
    Metric{0x295A, "battery_charge_status", "%", 1, false, "battery_soc"},
    Metric{0x491E, "battery_cycles", "", 1},
    Metric{0x495B, "battery_temp", "°C", 10},
    Metric{0x495C, "battery_volt", "V", 100},
    Metric{0x495D, "battery_amp", "A", 1000},
    Metric{0x4636, "meter_feed_in_power", "W", 1},
    Metric{0x4637, "meter_draw_power", "W", 1},
};

constexpr std::uint16_t lri_device_status = 0x2148;
constexpr std::uint16_t lri_grid_relay = 0x4164;
constexpr std::uint16_t lri_ac_power_total = 0x263F;
constexpr std::uint16_t lri_device_class = 0x821F;
constexpr std::uint16_t lri_model = 0x8220;

const Metric* metric_of(std::uint16_t lri) {
  for (const Metric& m : metrics) {
    if (m.lri == lri) return &m;
  }
  return nullptr;
}

bool is_energy(std::string_view canonical) { return canonical == "pv_energy_total" || canonical == "pv_energy_today"; }

// The sum of the valid values of `lri`'s records; nullopt when none is valid.
std::optional<double> valid_sum(const std::vector<Record>& records, std::uint16_t lri) {
  std::optional<double> sum;
  for (const Record& r : records) {
    if (r.lri == lri && r.number) sum = sum.value_or(0) + static_cast<double>(*r.number);
  }
  return sum;
}

// The value of `lri`, when the records hold a valid one.
std::optional<double> value_of(const std::vector<Record>& records, std::uint16_t lri) {
  for (const Record& r : records) {
    if (r.lri == lri && r.number) return static_cast<double>(*r.number);
  }
  return std::nullopt;
}

}  // namespace

// Phase currents come as 0x4650–52 or 0x4653–55 by model; where a reply has both, the second
// range's valid value is the one kept.
bool InverterDecoder::superseded(const Record& record, const std::vector<Record>& records) {
  if (record.lri < 0x4650 || record.lri > 0x4652) return false;
  const auto later = static_cast<std::uint16_t>(record.lri + 3);
  return std::any_of(records.begin(), records.end(), [&](const Record& r) { return r.lri == later && r.number; });
}

bool InverterDecoder::pv_class() const {
  return !device_class_ || *device_class_ == class_solar_inverter || *device_class_ == class_hybrid_inverter;
}

Decoded InverterDecoder::decode(Query query, const std::vector<Record>& records) {
  Decoded out;
  if (query == Query::type_label) {
    decode_type_label(records, out);
    return out;
  }
  for (const Record& record : records) {
    if (!superseded(record, records)) decode_record(record, out);
  }
  add_sums(query, records, out);
  return out;
}

void InverterDecoder::decode_record(const Record& record, Decoded& out) {
  if (record.lri == lri_firmware && record.version_word) {
    out.firmware = version_text(*record.version_word);
    return;
  }
  if (record.lri == lri_device_status || record.lri == lri_grid_relay) return decode_status(record, out);
  const Metric* metric = metric_of(record.lri);
  if (metric == nullptr || !record.number) return;  // other registers stay in the archive; NaN is no value
  const double value = static_cast<double>(*record.number) / metric->divisor;
  std::string name(metric->name);
  if (metric->per_mppt) name += "_" + std::to_string(record.record_class);
  out.readings.push_back(vendor_reading(std::move(name), metric->unit, value));
  if (record.lri == lri_ac_power_total) ac_total_valid_ = true;
  if (metric->canonical.empty()) return;
  // The yield registers mean PV energy only on a plain solar inverter (§10 q2).
  if (is_energy(metric->canonical) && device_class_ && *device_class_ != class_solar_inverter) return;
  out.readings.push_back(canonical_reading(metric->canonical, metric->unit, value));
}

void InverterDecoder::decode_status(const Record& record, Decoded& out) {
  const auto tag = selected_status(record);
  if (!tag) return;
  const bool relay = record.lri == lri_grid_relay;
  out.readings.push_back(vendor_reading(relay ? "grid_relay" : "device_status", "", static_cast<double>(*tag)));
  const auto last = statuses_.find(record.lri);
  const bool changed = last != statuses_.end() && last->second != *tag;
  statuses_[record.lri] = *tag;
  if (!changed) return;  // the first value since start is no change
  const std::string text = status_text(*tag);
  DeviceEvent event;
  event.source = relay ? "GridRelay" : "DeviceStatus";
  event.code = std::to_string(*tag);
  event.text = std::string(relay ? "grid relay " : "device status ") + (text.empty() ? std::to_string(*tag) : text);
  out.events.push_back(std::move(event));
}

void InverterDecoder::decode_type_label(const std::vector<Record>& records, Decoded& out) {
  std::optional<std::uint32_t> model;
  for (const Record& record : records) {
    if (record.lri == lri_device_class) {
      if (auto tag = selected_status(record)) device_class_ = *tag;
    } else if (record.lri == lri_model) {
      model = selected_status(record);
    }
  }
  if (!model && !device_class_) return;
  std::string text = "SMA type " + (model ? std::to_string(*model) : std::string("unknown"));
  if (device_class_) text += ", class " + std::to_string(*device_class_);
  out.model = text;
}

// Canonical values summed over records: PV power over the MPPTs, AC power over the phases when
// the total is missing this cycle.
void InverterDecoder::add_sums(Query query, const std::vector<Record>& records, Decoded& out) const {
  if ((query == Query::dc_power || query == Query::dc_power_sb1600) && pv_class()) {
    const auto pv = query == Query::dc_power ? valid_sum(records, 0x251E) : valid_sum(records, 0x451E);
    if (pv) out.readings.push_back(canonical_reading("pv_power", "W", *pv));
  }
  if (query == Query::ac_power_phases && !ac_total_valid_) {
    const auto l1 = value_of(records, 0x4640);
    const auto l2 = value_of(records, 0x4641);
    const auto l3 = value_of(records, 0x4642);
    if (l1 && l2 && l3) out.readings.push_back(canonical_reading("ac_power", "W", *l1 + *l2 + *l3));
  }
}

std::string status_text(std::uint32_t tag) {
  switch (tag) {
    case 307: return "Ok";
    case 455: return "Warning";
    case 35: return "Fault";
    case 303: return "Off";
    case 51: return "Closed";
    case 311: return "Open";
    default: return "";
  }
}

namespace {

std::string meter_model(std::uint16_t susy_id) {
  switch (susy_id) {
    case 270: return "SMA Energy Meter 1.0";
    case 349: return "SMA Energy Meter 2.0";
    case 372: return "SMA Sunny Home Manager 2.0";
    default: return "SMA meter (SUSy-ID " + std::to_string(susy_id) + ")";
  }
}

constexpr double kwh_per_ws = 1.0 / 3'600'000.0;

// (C import − C+1 export) ÷ 10 in W: the signed power of a pair of channels.
std::optional<double> net_power(const MeterDatagram& meter, std::uint8_t import_index) {
  const auto in = current_value(meter, import_index);
  const auto out = current_value(meter, static_cast<std::uint8_t>(import_index + 1));
  if (!in || !out) return std::nullopt;
  return (static_cast<double>(*in) - static_cast<double>(*out)) / 10.0;
}

void add_scaled(std::vector<Reading>& readings, const MeterDatagram& meter, std::uint8_t index, std::string name,
                std::string_view unit, double divisor) {
  if (auto v = current_value(meter, index)) readings.push_back(vendor_reading(std::move(name), unit, static_cast<double>(*v) / divisor));
}

}  // namespace

MeterReadings meter_readings(const MeterDatagram& meter) {
  MeterReadings out;
  out.model = meter_model(meter.sender.susy_id);
  out.firmware = meter.firmware;
  auto& r = out.readings;
  if (auto p = net_power(meter, 1)) r.push_back(canonical_reading("grid_power", "W", *p));
  if (auto v = counter_value(meter, 1)) r.push_back(canonical_reading("grid_import_energy_total", "kWh", static_cast<double>(*v) * kwh_per_ws));
  if (auto v = counter_value(meter, 2)) r.push_back(canonical_reading("grid_export_energy_total", "kWh", static_cast<double>(*v) * kwh_per_ws));
  if (auto v = current_value(meter, 14)) r.push_back(canonical_reading("grid_frequency", "Hz", static_cast<double>(*v) / 1000.0));
  add_scaled(r, meter, 1, "p_import", "W", 10);
  add_scaled(r, meter, 2, "p_export", "W", 10);
  add_scaled(r, meter, 13, "cos_phi", "", 1000);
  static constexpr std::array<std::string_view, 3> phases{"l1", "l2", "l3"};
  for (std::uint8_t phase = 0; phase < 3; ++phase) {
    const auto base = static_cast<std::uint8_t>(20 * phase);
    const std::string suffix(phases[phase]);
    if (auto p = net_power(meter, static_cast<std::uint8_t>(base + 21))) r.push_back(vendor_reading("power_" + suffix, "W", *p));
    add_scaled(r, meter, static_cast<std::uint8_t>(base + 32), "voltage_" + suffix, "V", 1000);
    add_scaled(r, meter, static_cast<std::uint8_t>(base + 31), "current_" + suffix, "A", 1000);
  }
  return out;
}

bool is_meter_counter(const Reading& reading) {
  return reading.name == "grid_import_energy_total" || reading.name == "grid_export_energy_total";
}

RawFrame archived(std::span<const std::uint8_t> datagram, FrameDirection direction) {
  RawFrame frame{.direction = direction, .bytes = {datagram.begin(), datagram.end()}};
  if (zero_password(frame.bytes)) frame.flags |= frame_flag::redacted;
  if (const auto protocol = protocol_of(datagram); protocol && *protocol != protocol_inverter) {
    frame.command = *protocol;
  } else if (auto packet = parse_inverter_packet(datagram)) {
    frame.command = packet->command;
  }
  return frame;
}

}  // namespace sunkeep::sma
