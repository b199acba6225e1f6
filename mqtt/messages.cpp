// The MQTT payloads and Home Assistant discovery documents.
#include "mqtt/messages.hpp"

#include "common/civil_time.hpp"
#include "mqtt/names.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace sunkeep::mqtt {

namespace {

using ordered = nlohmann::ordered_json;

// A number for JSON: an integer when it is one, else the rounded double.
ordered number_json(double value) {
  const double rounded = std::round(value * 1e6) / 1e6;
  if (std::abs(rounded) < 9e15 && rounded == std::floor(rounded)) return static_cast<std::int64_t>(rounded);
  return rounded;
}

// Device strings may hold bytes that are not UTF-8: replaced, never thrown over.
std::string text_of(const ordered& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

ordered or_null(const std::optional<std::string>& text) { return text ? ordered(*text) : ordered(nullptr); }

std::string node_topic(const DiscoveryContext& c, const DeviceState& d, std::string_view leaf) {
  return c.base_topic + "/" + node_of(d.vendor, d.serial) + "/" + std::string(leaf);
}

ordered origin(const DiscoveryContext& c) { return {{"name", "sunkeep"}, {"sw_version", c.version}}; }

ordered device_block(const DeviceState& d, std::string_view manufacturer, std::string_view via) {
  ordered block{{"identifiers", ordered::array({identifier_of(d)})},
                {"name", std::string(manufacturer) + " " + d.serial},
                {"manufacturer", manufacturer}};
  if (d.model) block["model"] = *d.model;
  block["serial_number"] = d.serial;
  if (d.firmware) block["sw_version"] = *d.firmware;
  block["via_device"] = via;
  return block;
}

ordered canonical_component(const MetricSpec& spec, const std::string& identifier) {
  const std::string id = unique_id(identifier, spec.metric);
  ordered c{{"platform", "sensor"}, {"name", spec.name}};
  if (!spec.device_class.empty()) c["device_class"] = spec.device_class;
  c["state_class"] = spec.counter ? "total_increasing" : "measurement";
  c["unit_of_measurement"] = spec.unit;
  c["suggested_display_precision"] = spec.precision;
  if (spec.diagnostic) c["entity_category"] = "diagnostic";
  c["value_template"] = spec.counter ? fmt::format("{{{{ value_json.{} | default('') }}}}", spec.metric)
                                     : fmt::format("{{{{ value_json.{} }}}}", spec.metric);
  c["unique_id"] = id;
  c["default_entity_id"] = default_entity_id("sensor", id);
  return c;
}

// A vendor name usable as a JSON key in a template and an entity id.
bool template_safe(std::string_view name) {
  return !name.empty() && name.find_first_of("'\\{}%") == std::string_view::npos;
}

std::string id_part(std::string_view name) {
  std::string out;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
  }
  return out;
}

ordered vendor_component(const std::string& name, const LatestValue& value, const std::string& identifier,
                         const std::string& vendor_topic) {
  const std::string id = unique_id(identifier, "vendor_" + id_part(name));
  ordered c{{"platform", "sensor"}, {"name", name}};
  if (!value.unit.empty()) c["unit_of_measurement"] = value.unit;
  c["entity_category"] = "diagnostic";
  c["enabled_by_default"] = false;
  c["state_topic"] = vendor_topic;
  c["value_template"] = fmt::format("{{{{ value_json['{}'] | default('') }}}}", name);
  c["unique_id"] = id;
  c["default_entity_id"] = default_entity_id("sensor", id);
  return c;
}

// Every component of a device, by key, in a stable order.
ordered device_components(const DeviceState& d, const DiscoveryContext& c) {
  const std::string identifier = identifier_of(d);
  ordered components = ordered::object();
  for (const auto& spec : metric_specs()) {
    const auto it = d.metrics.find(spec.metric);
    if (it != d.metrics.end() && it->second.canonical) components[std::string(spec.metric)] = canonical_component(spec, identifier);
  }
  if (!c.vendor_metrics) return components;
  const std::string vendor_topic = node_topic(c, d, "vendor");
  for (const auto& [name, value] : d.metrics) {
    if (value.canonical || !template_safe(name)) continue;
    components["vendor_" + id_part(name)] = vendor_component(name, value, identifier, vendor_topic);
  }
  return components;
}

ordered availability(const DiscoveryContext& c, const DeviceState& d) {
  return ordered::array({{{"topic", c.base_topic + "/status"}}, {{"topic", node_topic(c, d, "availability")}}});
}

ordered server_device_block(const DiscoveryContext& c) {
  return {{"identifiers", ordered::array({server_identifier(c.instance_id)})},
          {"name", "sunkeep " + c.instance_id},
          {"manufacturer", "sunkeep"},
          {"model", "sunkeep server"},
          {"sw_version", c.version}};
}

ordered server_components(const DiscoveryContext& c) {
  const std::string identifier = server_identifier(c.instance_id);
  const std::string status_id = unique_id(identifier, "status");
  const std::string online_id = unique_id(identifier, "devices_online");
  return {{"status",
           {{"platform", "binary_sensor"},
            {"name", "Status"},
            {"device_class", "connectivity"},
            {"entity_category", "diagnostic"},
            {"state_topic", c.base_topic + "/status"},
            {"payload_on", "online"},
            {"payload_off", "offline"},
            {"unique_id", status_id},
            {"default_entity_id", default_entity_id("binary_sensor", status_id)}}},
          {"devices_online",
           {{"platform", "sensor"},
            {"name", "Devices online"},
            {"state_class", "measurement"},
            {"entity_category", "diagnostic"},
            {"state_topic", c.base_topic + "/info"},
            {"value_template", "{{ value_json.devices_online }}"},
            {"unique_id", online_id},
            {"default_entity_id", default_entity_id("sensor", online_id)}}}};
}

// Component mode: `shared` keys first, then the component's own less its platform.
std::vector<Publication> split_components(const ordered& shared, const ordered& components, const DiscoveryContext& c) {
  std::vector<Publication> out;
  for (const auto& [key, component] : components.items()) {
    ordered payload = shared;
    for (const auto& [name, value] : component.items()) {
      if (name != "platform") payload[name] = value;
    }
    const std::string platform = component.at("platform").get<std::string>();
    out.push_back({c.discovery_prefix + "/" + platform + "/" + component.at("unique_id").get<std::string>() + "/config",
                   text_of(payload)});
  }
  return out;
}

}  // namespace

std::string number_text(double value) { return text_of(number_json(value)); }

std::string identifier_of(const DeviceState& device) { return device_identifier(node_of(device.vendor, device.serial)); }

std::string via_of(const DeviceState& device, std::string_view instance_id) {
  if (device.parent) {
    const auto colon = device.parent->find(':');
    if (colon != std::string::npos) {
      return device_identifier(node_of(device.parent->substr(0, colon), device.parent->substr(colon + 1)));
    }
  }
  return server_identifier(instance_id);
}

StateValues state_values(const DeviceState& device, UtcMillis now, UtcMillis published_time) {
  StateValues out;
  for (const auto& spec : metric_specs()) {
    const auto it = device.metrics.find(spec.metric);
    if (it == device.metrics.end() || !it->second.canonical) continue;
    const LatestValue& v = it->second;
    const bool fresh = v.fresh(now) && live_after(v, published_time);
    if (spec.counter) {
      // A counter with no fresh value, or one the guard holds back, is left out: HA keeps its last.
      const bool held_back = v.exposed && *v.exposed != v.value;
      if (!fresh || held_back) continue;
    }
    out.canonical.emplace_back(std::string(spec.metric), fresh ? std::optional(v.value) : std::nullopt);
    if (fresh) out.time = std::max(out.time, v.time);
  }
  for (const auto& [name, v] : device.metrics) {
    if (v.canonical || !v.fresh(now) || !live_after(v, published_time)) continue;
    out.vendor.emplace_back(name, v.value);
    out.vendor_time = std::max(out.vendor_time, v.time);
  }
  return out;
}

std::string state_json(const StateValues& values) {
  ordered j{{"time", format_rfc3339(values.time)}};
  for (const auto& [metric, value] : values.canonical) j[metric] = value ? number_json(*value) : ordered(nullptr);
  return text_of(j);
}

std::string vendor_json(const StateValues& values) {
  ordered j{{"time", format_rfc3339(values.vendor_time)}};
  for (const auto& [name, value] : values.vendor) j[name] = number_json(value);
  return text_of(j);
}

std::string device_object_json(const DeviceState& d) {
  ordered clock = d.clock_offset_ms ? number_json(static_cast<double>(*d.clock_offset_ms) / 1000.0) : ordered(nullptr);
  return text_of(ordered{{"id", d.vendor + ":" + d.serial},
                 {"vendor", d.vendor},
                 {"serial", d.serial},
                 {"model", or_null(d.model)},
                 {"firmware", or_null(d.firmware)},
                 {"first_seen", d.first_seen > 0 ? ordered(format_rfc3339(d.first_seen)) : ordered(nullptr)},
                 {"peer", or_null(d.peer)},
                 {"clock_offset_s", clock},
                 {"parent", or_null(d.parent)}});
}

std::string event_json(const DeviceEvent& event) {
  return text_of(ordered{{"time", format_rfc3339(event.utc)},
                         {"code", or_null(event.code)},
                         {"source", event.source},
                         {"text", or_null(event.text)}});
}

std::string info_json(const Info& info) {
  return text_of(ordered{{"version", info.version},
                         {"instance", info.instance},
                         {"started", format_rfc3339(info.started)},
                         {"devices", info.devices},
                         {"devices_online", info.devices_online}});
}

Publication device_discovery(const DeviceState& device, std::string_view manufacturer, std::string_view via,
                             const DiscoveryContext& c) {
  ordered payload{{"device", device_block(device, manufacturer, via)},
                  {"origin", origin(c)},
                  {"availability", availability(c, device)},
                  {"availability_mode", "all"},
                  {"state_topic", node_topic(c, device, "state")},
                  {"qos", c.qos},
                  {"components", device_components(device, c)}};
  return {c.discovery_prefix + "/device/" + node_of(device.vendor, device.serial) + "/config", text_of(payload)};
}

std::vector<Publication> component_discovery(const DeviceState& device, std::string_view manufacturer,
                                             std::string_view via, const DiscoveryContext& c) {
  const ordered shared{{"device", device_block(device, manufacturer, via)},
                       {"origin", origin(c)},
                       {"availability", availability(c, device)},
                       {"availability_mode", "all"},
                       {"state_topic", node_topic(c, device, "state")},
                       {"qos", c.qos}};
  return split_components(shared, device_components(device, c), c);
}

Publication server_device_discovery(const DiscoveryContext& c) {
  ordered payload{{"device", server_device_block(c)},
                  {"origin", origin(c)},
                  {"qos", 1},
                  {"components", server_components(c)}};
  return {c.discovery_prefix + "/device/" + server_node(c.instance_id) + "/config", text_of(payload)};
}

std::vector<Publication> server_component_discovery(const DiscoveryContext& c) {
  const ordered shared{{"device", server_device_block(c)}, {"origin", origin(c)}, {"qos", 1}};
  return split_components(shared, server_components(c), c);
}

}  // namespace sunkeep::mqtt
