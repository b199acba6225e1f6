// MQTT and Home Assistant names, and the canonical metrics' Home Assistant classes.
#include "mqtt/names.hpp"

#include <algorithm>
#include <cctype>

namespace sunkeep::mqtt {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

bool topic_safe(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

constexpr std::string_view identifier_prefix = "sunkeep_";

}  // namespace

std::string node_of(std::string_view vendor, std::string_view serial) {
  std::string node = std::string(vendor) + "_" + std::string(serial);
  std::replace_if(node.begin(), node.end(), [](char ch) { return !topic_safe(ch); }, '_');
  return node;
}

std::string server_node(std::string_view instance_id) { return std::string(identifier_prefix) + std::string(instance_id); }

std::string device_identifier(std::string_view node) { return std::string(identifier_prefix) + lowercase(node); }

std::string server_identifier(std::string_view instance_id) { return lowercase(server_node(instance_id)); }

std::string unique_id(std::string_view identifier, std::string_view metric) {
  return std::string(identifier) + "_" + std::string(metric);
}

std::string default_entity_id(std::string_view platform, std::string_view id) {
  if (id.starts_with(identifier_prefix)) id.remove_prefix(identifier_prefix.size());
  return std::string(platform) + "." + std::string(id);
}

const std::vector<MetricSpec>& metric_specs() {
  static const std::vector<MetricSpec> specs{
      {"pv_power", "PV power", "power", "W", 0, false, false},
      {"grid_power", "Grid power", "power", "W", 0, false, false},
      {"battery_power", "Battery power", "power", "W", 0, false, false},
      {"load_power", "Load power", "power", "W", 0, false, false},
      {"ac_power", "AC power", "power", "W", 0, false, false},
      {"battery_soc", "Battery state of charge", "battery", "%", 0, false, false},
      {"battery_voltage", "Battery voltage", "voltage", "V", 1, true, false},
      {"battery_current", "Battery current", "current", "A", 1, true, false},
      {"battery_temperature", "Battery temperature", "temperature", "°C", 1, true, false},
      {"inverter_temperature", "Inverter temperature", "temperature", "°C", 1, true, false},
      {"grid_frequency", "Grid frequency", "frequency", "Hz", 2, true, false},
      {"signal_strength", "Signal strength", "", "%", 0, true, false},
      {"pv_energy_total", "PV energy", "energy", "kWh", 1, false, true},
      {"grid_import_energy_total", "Grid import energy", "energy", "kWh", 1, false, true},
      {"grid_export_energy_total", "Grid export energy", "energy", "kWh", 1, false, true},
      {"battery_charge_energy_total", "Battery charge energy", "energy", "kWh", 1, false, true},
      {"battery_discharge_energy_total", "Battery discharge energy", "energy", "kWh", 1, false, true},
      {"pv_energy_today", "PV energy today", "energy", "kWh", 1, false, true},
  };
  return specs;
}

std::optional<MetricSpec> metric_spec(std::string_view metric) {
  const auto& specs = metric_specs();
  const auto it = std::find_if(specs.begin(), specs.end(), [metric](const MetricSpec& s) { return s.metric == metric; });
  return it == specs.end() ? std::nullopt : std::optional(*it);
}

}  // namespace sunkeep::mqtt
