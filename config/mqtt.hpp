// The [mqtt] section (mqtt.md §1): where sunkeep publishes, how it logs in, what it announces to
// Home Assistant. Off until `enabled = true`.
#pragma once

#include "common/parsed.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace sunkeep::config {

struct MqttConfig {
  bool enabled = false;
  std::string url = "mqtt://127.0.0.1:1883";
  std::string client_id;  // "" = "sunkeep-<instance_id>"
  std::string username;
  std::string password;
  std::string password_file;  // read at start; "$CREDENTIALS_DIRECTORY/…" names a systemd credential
  std::chrono::milliseconds keepalive = std::chrono::seconds(60);
  std::string instance_id;  // "" = the host name, lowercased, [a-z0-9_-] only
  std::string base_topic = "sunkeep";
  std::uint32_t qos = 0;  // of state messages; status, availability and discovery use 1
  bool retain_state = true;
  std::chrono::milliseconds publish_interval = std::chrono::seconds(10);  // 0 = every record
  bool per_metric_topics = false;
  bool vendor_metrics = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_insecure = false;
  std::uint32_t max_pending = 100;
  bool discovery = true;
  std::string discovery_prefix = "homeassistant";
  std::string discovery_mode = "device";  // or "component"
  // The line of each key the file set, for problems found across keys.
  std::map<std::string, std::size_t, std::less<>> lines;
};

struct MqttUrl {
  bool tls = false;
  std::string host;  // an IPv6 address without its brackets
  std::uint16_t port = 0;
};

// "mqtt://host[:port]" (1883) or "mqtts://host[:port]" (8883), IPv6 as [::1].
Parsed<MqttUrl> parse_mqtt_url(std::string_view text);

// Why `topic` cannot be a topic prefix ('+', '#', NUL, a leading or trailing '/', empty), or "".
std::string topic_prefix_problem(std::string_view topic);

// The default instance id from a host name: lowercased, every character outside [a-z0-9_-]
// dropped; "sunkeep" when nothing is left.
std::string instance_id_from_host(std::string_view host_name);

}  // namespace sunkeep::config
