// The names sunkeep uses on MQTT and in Home Assistant (mqtt.md §2), and what Home Assistant is
// told about each canonical metric (mqtt.md §4.1's table).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::mqtt {

// `<vendor>_<serial>`, every character outside [A-Za-z0-9_-] replaced by '_'.
std::string node_of(std::string_view vendor, std::string_view serial);
// `sunkeep_<instance_id>`.
std::string server_node(std::string_view instance_id);
// The HA device identifier: "sunkeep_" + lowercase(node) for a vendor device.
std::string device_identifier(std::string_view node);
// The HA device identifier of the server itself: lowercase(server node).
std::string server_identifier(std::string_view instance_id);
// identifier + "_" + metric.
std::string unique_id(std::string_view identifier, std::string_view metric);
// "<platform>." + the unique id less its "sunkeep_" prefix.
std::string default_entity_id(std::string_view platform, std::string_view unique_id);

// A canonical metric as Home Assistant sees it.
struct MetricSpec {
  std::string_view metric;
  std::string_view name;          // the entity name (HA puts the device name before it)
  std::string_view device_class;  // "" = none
  std::string_view unit;
  int precision = 0;
  bool diagnostic = false;
  bool counter = false;  // state_class total_increasing; left out of the state while unknown
};

// The spec of a canonical metric; nullopt for any other name.
std::optional<MetricSpec> metric_spec(std::string_view metric);
// Every canonical metric, in the order state messages and discovery list them.
const std::vector<MetricSpec>& metric_specs();

}  // namespace sunkeep::mqtt
