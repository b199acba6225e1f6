// The payloads sunkeep publishes (mqtt.md §3, §4): state, vendor values, device object, event,
// info, and Home Assistant discovery in device and component mode. Pure functions of a device's
// state and the time.
#pragma once

#include "common/device_state.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::mqtt {

// A number as the device gave it: rounded to 6 decimals (no 2310.0000001 from a sum), in the
// shortest text that reads back as that value, integers without a decimal point.
std::string number_text(double value);

// What a state message holds at `now` (mqtt.md §3.1).
struct StateValues {
  UtcMillis time = 0;  // the sample time of the newest value in it; 0 = nothing to say
  // Canonical metrics in metric_specs() order; nullopt = a measurement with no fresh value (null).
  std::vector<std::pair<std::string, std::optional<double>>> canonical;
  // Fresh vendor-named values, and the sample time of the newest of them.
  std::vector<std::pair<std::string, double>> vendor;
  UtcMillis vendor_time = 0;
};

// Whether `value` may go out after a state stamped `published_time` (mqtt.md §3.2): history sent
// late (a Resume, a CSV upload) is more than its freshness window older than what was published.
inline bool live_after(const LatestValue& value, UtcMillis published_time) {
  return value.time + 3 * value.cadence_ms >= published_time;
}

// `published_time`: the `time` of the device's last state message (0 = none).
StateValues state_values(const DeviceState& device, UtcMillis now, UtcMillis published_time = 0);
std::string state_json(const StateValues& values);
std::string vendor_json(const StateValues& values);

// The API's device object less last_seen and online.
std::string device_object_json(const DeviceState& device);
std::string event_json(const DeviceEvent& event);

struct Info {
  std::string version;
  std::string instance;
  UtcMillis started = 0;
  std::size_t devices = 0;
  std::size_t devices_online = 0;
};
std::string info_json(const Info& info);

// What discovery needs beside the device.
struct DiscoveryContext {
  std::string base_topic;
  std::string discovery_prefix;
  std::string instance_id;
  std::string version;
  int qos = 0;
  bool vendor_metrics = false;
};

struct Publication {
  std::string topic;
  std::string payload;
};

// Device mode: one `<prefix>/device/<node>/config` payload. `manufacturer`: the vendor's name
// for people; `via`: the HA identifier of the device it is reached through.
Publication device_discovery(const DeviceState& device, std::string_view manufacturer, std::string_view via,
                             const DiscoveryContext& context);
// Component mode: one `<prefix>/<platform>/<unique_id>/config` per entity.
std::vector<Publication> component_discovery(const DeviceState& device, std::string_view manufacturer,
                                             std::string_view via, const DiscoveryContext& context);
// The server's own device, in either mode.
Publication server_device_discovery(const DiscoveryContext& context);
std::vector<Publication> server_component_discovery(const DiscoveryContext& context);

// The HA identifier of `device`'s node, and of what it is reached through (its parent, else the
// server).
std::string identifier_of(const DeviceState& device);
std::string via_of(const DeviceState& device, std::string_view instance_id);

}  // namespace sunkeep::mqtt
