// AlphaESS vendor units, packed cell values and the canonical mapping.
#include "protocol/alphaess/metrics.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>

namespace sunkeep::alphaess {

namespace {

using UnitTable = std::map<std::string_view, std::string_view, std::less<>>;

const UnitTable& units() {
  static const UnitTable table = [] {
    UnitTable t;
    auto set = [&t](std::initializer_list<std::string_view> keys, std::string_view unit) {
      for (auto k : keys) t.emplace(k, unit);
    };
    set({"Ppv1", "Ppv2", "PrealL1", "PrealL2", "PrealL3", "PmeterL1", "PmeterL2", "PmeterL3",
         "PmeterDC", "Pbat", "PacL1", "PacL2", "PacL3", "Pcharge", "Pdischarge", "PMeterDCL1",
         "PMeterDCL2", "PMeterDCL3", "Pdispatch"},
        "W");
    set({"Upv1", "Upv2", "Vpv1", "Vpv2", "Ua", "Ub", "Uc", "Ubus", "BatV", "InvBatV", "MeterDCUa",
         "MeterDCUb", "MeterDCUc"},
        "V");
    set({"BatC", "BatC1", "BatC2", "BatC3", "BatC4", "BatC5", "BatC6"}, "A");
    set({"SOC", "SOC1", "SOC2", "SOC3", "SOC4", "SOC5", "SOC6"}, "%");
    set({"EpvTotal", "Einput", "Eoutput", "Echarge", "EDischarge", "EGridCharge"}, "kWh");
    set({"Fac"}, "Hz");
    set({"Tinv"}, "°C");
    set({"Sva"}, "VA");
    set({"VarAC", "VarDC"}, "var");
    set({"Eirp"}, "dBm");
    return t;
  }();
  return table;
}

bool is_identity_key(std::string_view key) { return key == "Time" || key == "Date" || key == "SN"; }

struct PackedKey {
  std::string_view key;
  std::string_view index_name;  // "cell" or "sensor"
  std::string_view unit;
  bool signed_value;
};

constexpr std::array<PackedKey, 4> packed_keys{{
    {"VcellLow", "cell", "mV", false},
    {"VcellHigh", "cell", "mV", false},
    {"TcellLow", "sensor", "°C", true},
    {"TcellHigh", "sensor", "°C", true},
}};

const PackedKey* packed_key(std::string_view key) {
  for (const auto& p : packed_keys) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

void add_packed_parts(const PackedKey& packed, double raw, std::vector<Reading>& out) {
  if (raw < 0 || raw > 4294967295.0) return;
  const auto bits = static_cast<std::uint32_t>(raw);
  const auto low = static_cast<std::uint16_t>(bits & 0xFFFF);
  const double value = packed.signed_value ? static_cast<double>(static_cast<std::int16_t>(low)) : low;
  const std::string key(packed.key);
  out.push_back({key + "_module", "", static_cast<double>(bits >> 24), false});
  out.push_back({key + "_" + std::string(packed.index_name), "", static_cast<double>((bits >> 16) & 0xFF), false});
  out.push_back({key + "_value", std::string(packed.unit), value, false});
}

// Sum of the named fields, or nullopt if any of them is missing or not numeric.
std::optional<double> sum_of(const Fields& fields, std::initializer_list<std::string_view> keys) {
  double total = 0;
  for (auto key : keys) {
    const std::string* text = find_field(fields, key);
    const auto v = text ? parse_number(*text) : std::nullopt;
    if (!v) return std::nullopt;
    total += *v;
  }
  return total;
}

void add_canonical(const Fields& fields, std::vector<Reading>& out) {
  auto put = [&out](std::string_view name, std::string_view unit, std::optional<double> v) {
    if (v) out.push_back({std::string(name), std::string(unit), *v, true});
  };
  const auto grid = sum_of(fields, {"PmeterL1", "PmeterL2", "PmeterL3"});
  const auto inverter_ac = sum_of(fields, {"PrealL1", "PrealL2", "PrealL3", "PmeterDC"});
  put("pv_power", "W", sum_of(fields, {"Ppv1", "Ppv2", "PmeterDC"}));
  put("grid_power", "W", grid);
  put("battery_power", "W", sum_of(fields, {"Pbat"}));
  put("load_power", "W", grid && inverter_ac ? std::optional(*grid + *inverter_ac) : std::nullopt);
  put("battery_soc", "%", sum_of(fields, {"SOC"}));
  put("battery_voltage", "V", sum_of(fields, {"BatV"}));
  put("battery_current", "A", sum_of(fields, {"BatC"}));
  put("inverter_temperature", "°C", sum_of(fields, {"Tinv"}));
  put("grid_frequency", "Hz", sum_of(fields, {"Fac"}));
  put("pv_energy_total", "kWh", sum_of(fields, {"EpvTotal"}));
  put("grid_import_energy_total", "kWh", sum_of(fields, {"Einput"}));
  put("grid_export_energy_total", "kWh", sum_of(fields, {"Eoutput"}));
  put("battery_charge_energy_total", "kWh", sum_of(fields, {"Echarge"}));
  put("battery_discharge_energy_total", "kWh", sum_of(fields, {"EDischarge"}));
}

}  // namespace

std::string_view vendor_unit(std::string_view key) {
  const auto it = units().find(key);
  return it == units().end() ? std::string_view{} : it->second;
}

std::vector<Reading> numeric_samples(const Fields& fields) {
  std::vector<Reading> out;
  out.reserve(fields.size() + 24);
  for (const auto& field : fields) {
    if (is_identity_key(field.key)) continue;
    const auto value = parse_number(field.value);
    if (!value) continue;
    out.push_back({field.key, std::string(vendor_unit(field.key)), *value, false});
    if (const PackedKey* packed = packed_key(field.key)) add_packed_parts(*packed, *value, out);
  }
  add_canonical(fields, out);
  return out;
}

}  // namespace sunkeep::alphaess
