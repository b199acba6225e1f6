// The [mqtt] key table and its rules across keys (mqtt.md §1).
#include "config/mqtt.hpp"

#include "config/readers.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sunkeep::config {

namespace {

using C = Config;

// `read`, remembering the line the key is on.
Reader at_line(std::string_view key, Reader read) {
  return [key = std::string(key), read = std::move(read)](const toml::node& n, Config& c) -> std::optional<std::string> {
    c.mqtt.lines[key] = line_of(n);
    return read(n, c);
  };
}

// The URL as a problem may show it: never a password written into it (user:secret@host).
std::string shown_url(std::string_view text) {
  const auto at = text.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  const auto scheme = text.find("://");
  return std::string(text.substr(0, scheme == std::string_view::npos ? 0 : scheme + 3)) + "…@" + std::string(text.substr(at + 1));
}

std::string url_problem(std::string_view text) {
  const auto url = parse_mqtt_url(text);
  return url ? "" : "\"" + shown_url(text) + "\": " + url.error();
}

// A character an instance id may hold: [a-z0-9_-].
bool instance_id_char(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'; }

std::string instance_id_problem(std::string_view id) {
  const bool allowed = std::all_of(id.begin(), id.end(), instance_id_char);
  return allowed ? "" : "\"" + std::string(id) + "\" may hold only a-z, 0-9, '_' and '-' (\"\" = the host name)";
}

std::string discovery_mode_problem(std::string_view mode) {
  return mode == "device" || mode == "component" ? "" : "must be \"device\" or \"component\"";
}

std::string prefix_problem(std::string_view topic) {
  auto why = topic_prefix_problem(topic);
  return why.empty() ? why : "\"" + std::string(topic) + "\" " + why;
}

// "0s", or 1 s to 1 h.
Reader publish_interval() {
  return [](const toml::node& n, Config& c) -> std::optional<std::string> {
    const toml::value<std::string>* given = n.as_string();
    const std::string text = given != nullptr ? given->get() : std::string();
    if (text == "0s" || text == "0") {
      c.mqtt.publish_interval = milliseconds(0);
      return std::nullopt;
    }
    const milliseconds interval = parse_duration(text).value_or(milliseconds(0));
    if (interval < std::chrono::seconds(1) || interval > std::chrono::hours(1)) {
      return "must be \"0s\" (every record) or a duration from \"1s\" to \"1h\"";
    }
    c.mqtt.publish_interval = interval;
    return std::nullopt;
  };
}

std::size_t line_of_key(const MqttConfig& m, std::string_view key) {
  const auto it = m.lines.find(key);
  return it == m.lines.end() ? 0 : it->second;
}

void check_mqtt(const Config& c, Problems& problems) {
  const MqttConfig& m = c.mqtt;
  const auto refuse = [&](std::string_view key, std::string message) {
    problems.push_back({"mqtt." + std::string(key), line_of_key(m, key), std::move(message)});
  };
  if (!m.password.empty() && !m.password_file.empty()) {
    refuse("password_file", "password and password_file exclude each other: keep one");
  }
  if ((!m.password.empty() || !m.password_file.empty()) && m.username.empty()) {
    refuse(m.password.empty() ? "password_file" : "password", "needs a username");
  }
  if (!m.tls_cert_file.empty() && m.tls_key_file.empty()) refuse("tls_cert_file", "needs tls_key_file");
  if (m.tls_cert_file.empty() && !m.tls_key_file.empty()) refuse("tls_key_file", "needs tls_cert_file");
  const auto url = parse_mqtt_url(m.url);
  if (!url || url->tls) return;
  for (const std::string_view key : {"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_insecure"}) {
    if (m.lines.contains(key)) refuse(key, "TLS settings need an mqtts:// url (url is " + shown_url(m.url) + ")");
  }
}

}  // namespace

Parsed<MqttUrl> parse_mqtt_url(std::string_view text) {
  MqttUrl url;
  if (text.starts_with("mqtt://")) {
    url.port = 1883;
    text.remove_prefix(7);
  } else if (text.starts_with("mqtts://")) {
    url.tls = true;
    url.port = 8883;
    text.remove_prefix(8);
  } else {
    return Parsed<MqttUrl>::failure("must start with mqtt:// or mqtts://");
  }
  std::optional<std::string_view> port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return Parsed<MqttUrl>::failure("an IPv6 host needs its closing ']'");
    url.host = std::string(text.substr(1, close - 1));
    text.remove_prefix(close + 1);
    if (!text.empty() && !text.starts_with(':')) return Parsed<MqttUrl>::failure("expected ':port' after the IPv6 host");
    if (!text.empty()) port_text = text.substr(1);
  } else {
    const auto colon = text.find(':');
    url.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  const bool host_ok = !url.host.empty() && std::none_of(url.host.begin(), url.host.end(), [](unsigned char ch) {
    return std::isspace(ch) || ch == '/' || ch == '@' || ch == '?' || ch == '#' || ch == '[' || ch == ']';
  });
  if (!host_ok) return Parsed<MqttUrl>::failure("needs a host name or address (no path, user or query)");
  if (port_text) {
    const bool digits = !port_text->empty() && port_text->size() <= 5 &&
                        std::all_of(port_text->begin(), port_text->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const long port = digits ? std::stol(std::string(*port_text)) : 0;
    if (port < 1 || port > 65535) return Parsed<MqttUrl>::failure("the port must be a number from 1 to 65535");
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

std::string topic_prefix_problem(std::string_view topic) {
  if (topic.empty()) return "must not be empty";
  if (topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos) return "must not hold '+', '#' or NUL";
  if (topic.front() == '/' || topic.back() == '/') return "must not begin or end with '/'";
  return "";
}

std::string instance_id_from_host(std::string_view host_name) {
  std::string id;
  for (const char ch : host_name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (instance_id_char(lower)) id += lower;
  }
  return id.empty() ? "sunkeep" : id;
}

SectionSpec mqtt_section() {
  using std::chrono::seconds;
  const auto key = [](std::string_view name, Reader read) { return KeySpec{name, at_line(name, std::move(read))}; };
  return SectionSpec{
      "mqtt",
      {key("enabled", boolean([](C& c) -> bool& { return c.mqtt.enabled; })),
       key("url", checked_text([](C& c) -> std::string& { return c.mqtt.url; }, url_problem)),
       key("client_id", text([](C& c) -> std::string& { return c.mqtt.client_id; })),
       key("username", text([](C& c) -> std::string& { return c.mqtt.username; })),
       key("password", text([](C& c) -> std::string& { return c.mqtt.password; })),
       key("password_file", text([](C& c) -> std::string& { return c.mqtt.password_file; })),
       key("keepalive", duration([](C& c) -> milliseconds& { return c.mqtt.keepalive; }, seconds(5), seconds(65535))),
       key("instance_id", checked_text([](C& c) -> std::string& { return c.mqtt.instance_id; }, instance_id_problem)),
       key("base_topic", checked_text([](C& c) -> std::string& { return c.mqtt.base_topic; }, prefix_problem)),
       key("qos", integer([](C& c) -> std::uint32_t& { return c.mqtt.qos; }, 0, 1)),
       key("retain_state", boolean([](C& c) -> bool& { return c.mqtt.retain_state; })),
       key("publish_interval", publish_interval()),
       key("per_metric_topics", boolean([](C& c) -> bool& { return c.mqtt.per_metric_topics; })),
       key("vendor_metrics", boolean([](C& c) -> bool& { return c.mqtt.vendor_metrics; })),
       key("tls_ca_file", text([](C& c) -> std::string& { return c.mqtt.tls_ca_file; })),
       key("tls_cert_file", text([](C& c) -> std::string& { return c.mqtt.tls_cert_file; })),
       key("tls_key_file", text([](C& c) -> std::string& { return c.mqtt.tls_key_file; })),
       key("tls_insecure", boolean([](C& c) -> bool& { return c.mqtt.tls_insecure; })),
       key("max_pending", integer([](C& c) -> std::uint32_t& { return c.mqtt.max_pending; }, 1, 100'000)),
       key("discovery", boolean([](C& c) -> bool& { return c.mqtt.discovery; })),
       key("discovery_prefix", checked_text([](C& c) -> std::string& { return c.mqtt.discovery_prefix; }, prefix_problem)),
       key("discovery_mode",
           checked_text([](C& c) -> std::string& { return c.mqtt.discovery_mode; }, discovery_mode_problem))},
      check_mqtt};
}

}  // namespace sunkeep::config
