// The MQTT output without a broker (mqtt.md): the [mqtt] section and its check-config rules,
// names, numbers, the state message's freshness and guard rules, and the publish plan with a fake
// clock: announce order, publish_interval, backfill, availability, ghosts and HA's migration.
#include "config/config.hpp"
#include "mqtt/announcer.hpp"
#include "mqtt/messages.hpp"
#include "mqtt/names.hpp"
#include "server/energy_guard.hpp"
#include "server/latest_values.hpp"
#include "tests/support/mqtt_checks.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace sunkeep;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::vector<config::Problem> problems_of(const std::string& toml) { return config::parse_config(toml, "t.toml").problems; }

std::string first_problem(const std::string& toml) {
  const auto problems = problems_of(toml);
  REQUIRE_MESSAGE(problems.size() == 1, toml);
  return problems[0].to_string("t.toml");
}

LatestValue value(double v, UtcMillis time, std::int64_t cadence_ms = 10'000, bool canonical = true) {
  return {.value = v, .unit = "", .canonical = canonical, .time = time, .arrived = time, .cadence_ms = cadence_ms,
          .exposed = std::nullopt};
}

DeviceState device(const std::string& vendor, const std::string& serial) {
  DeviceState d;
  d.vendor = vendor;
  d.serial = serial;
  return d;
}

// The plan of one publisher: the announcer with a fake clock and what it sends.
struct Plan {
  explicit Plan(std::function<void(config::MqttConfig&)> adjust = {}, std::map<std::string, std::string> recorded = {}) {
    settings.config.instance_id = "testhost";
    settings.config.client_id = "sunkeep-testhost";
    settings.version = "9.9.9";
    if (adjust) adjust(settings.config);
    hooks.online = [this](const DeviceState& d, UtcMillis) { return !offline.contains(d.serial); };
    hooks.manufacturer = [](const std::string& vendor) { return vendor == "alphaess" ? "AlphaESS" : vendor; };
    hooks.recorded_topics = std::move(recorded);
    announcer = std::make_unique<mqtt::Announcer>(settings, hooks, metrics);
  }
  void take(const DeviceState& d, std::deque<DeviceEvent> events = {}) {
    announcer->take(d.vendor + ":" + d.serial, std::make_shared<const DeviceState>(d), std::move(events), now, steady);
  }
  // Everything due now, as a broker would receive it.
  std::vector<mqtt::OutMessage> drain() {
    std::vector<mqtt::OutMessage> out;
    announcer->tick(now, steady);
    announcer->release_due(steady);
    while (auto m = announcer->next(now, steady)) out.push_back(std::move(*m));
    return out;
  }
  void advance(std::chrono::milliseconds d) {
    now += d.count();
    steady += d;
  }

  metrics::Registry metrics;
  mqtt::PublisherSettings settings;
  mqtt::PublisherHooks hooks;
  std::set<std::string> offline;
  std::unique_ptr<mqtt::Announcer> announcer;
  UtcMillis now = 1'750'000'000'000;
  std::chrono::steady_clock::time_point steady{std::chrono::hours(1000)};
};

std::vector<std::string> topics(const std::vector<mqtt::OutMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.topic);
  return out;
}

const mqtt::OutMessage* find(const std::vector<mqtt::OutMessage>& messages, const std::string& topic) {
  const auto it = std::find_if(messages.begin(), messages.end(), [&](const auto& m) { return m.topic == topic; });
  return it == messages.end() ? nullptr : &*it;
}

std::size_t index_of(const std::vector<mqtt::OutMessage>& messages, const std::string& topic) {
  const auto names = topics(messages);
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), topic) - names.begin());
}

}  // namespace

TEST_CASE("mqtt config: defaults, every key, and the check-config rules") {
  const auto defaults = config::parse_config("", "t.toml").config.mqtt;
  CHECK_FALSE(defaults.enabled);
  CHECK(defaults.url == "mqtt://127.0.0.1:1883");
  CHECK(defaults.publish_interval == 10s);
  CHECK(defaults.discovery_mode == "device");
  CHECK(defaults.max_pending == 100);

  const auto r = config::parse_config(R"(
[mqtt]
enabled = true
url = "mqtts://[::1]:8884"
client_id = "me"
username = "u"
password_file = "/run/credentials/sunkeep.service/mqtt"
keepalive = "30s"
instance_id = "home-1"
base_topic = "home/sunkeep"
qos = 1
retain_state = false
publish_interval = "0s"
per_metric_topics = true
vendor_metrics = true
tls_ca_file = "/etc/ca.pem"
tls_cert_file = "/etc/c.pem"
tls_key_file = "/etc/k.pem"
tls_insecure = true
max_pending = 10
discovery = false
discovery_prefix = "ha"
discovery_mode = "component"
)", "t.toml");
  REQUIRE(r.ok());
  const auto& m = r.config.mqtt;
  CHECK(m.publish_interval == 0ms);
  CHECK(m.keepalive == 30s);
  CHECK(m.qos == 1);
  CHECK(m.discovery_mode == "component");
  const auto url = config::parse_mqtt_url(m.url);
  REQUIRE(url);
  CHECK(url->tls);
  CHECK(url->host == "::1");
  CHECK(url->port == 8884);
  CHECK(config::parse_mqtt_url("mqtt://broker")->port == 1883);
  CHECK(config::parse_mqtt_url("mqtts://broker")->port == 8883);

  CHECK(first_problem("[mqtt]\nurl = \"http://x\"").find("t.toml:2: mqtt.url:") == 0);
  CHECK(first_problem("[mqtt]\nurl = \"mqtt://x:0\"").find("port") != std::string::npos);
  CHECK(first_problem("[mqtt]\nurl = \"mqtt://\"").find("host") != std::string::npos);
  CHECK(first_problem("[mqtt]\npassword = \"a\"") == "t.toml:2: mqtt.password: needs a username");
  CHECK(first_problem("[mqtt]\nurl = \"mqtt://me:hunter2@host\"").find("hunter2") == std::string::npos);
  CHECK(first_problem("[mqtt]\nusername = \"u\"\npassword = \"a\"\npassword_file = \"/f\"") ==
        "t.toml:4: mqtt.password_file: password and password_file exclude each other: keep one");
  CHECK(first_problem("[mqtt]\nurl = \"mqtts://b\"\ntls_cert_file = \"/c\"").find("mqtt.tls_cert_file: needs tls_key_file") != std::string::npos);
  CHECK(first_problem("[mqtt]\ntls_ca_file = \"/ca\"") == "t.toml:2: mqtt.tls_ca_file: TLS settings need an mqtts:// url (url is mqtt://127.0.0.1:1883)");
  CHECK(first_problem("[mqtt]\ntls_insecure = false").find("mqtts://") != std::string::npos);
  for (const char* bad : {"\"a/+\"", "\"#\"", "\"/a\"", "\"a/\"", "\"\""}) {
    CHECK(first_problem(std::string("[mqtt]\nbase_topic = ") + bad).find("mqtt.base_topic") != std::string::npos);
    CHECK(first_problem(std::string("[mqtt]\ndiscovery_prefix = ") + bad).find("mqtt.discovery_prefix") != std::string::npos);
  }
  for (const char* bad : {"\"500ms\"", "\"2h\"", "\"soon\"", "10"}) {
    CHECK(first_problem(std::string("[mqtt]\npublish_interval = ") + bad).find("mqtt.publish_interval") != std::string::npos);
  }
  CHECK(first_problem("[mqtt]\nqos = 2").find("mqtt.qos") != std::string::npos);
  CHECK(first_problem("[mqtt]\ndiscovery_mode = \"both\"").find("mqtt.discovery_mode") != std::string::npos);
  CHECK(first_problem("[mqtt]\ninstance_id = \"Home\"").find("mqtt.instance_id") != std::string::npos);
  CHECK(first_problem("[mqtt]\nbrokers = 1").find("unknown key") != std::string::npos);
  // A secret never appears in a problem.
  const auto secret = first_problem("[mqtt]\nusername = \"u\"\npassword = 12345678");
  CHECK(secret.find("12345678") == std::string::npos);
  CHECK(config::instance_id_from_host("Home.Server_1") == "homeserver_1");
  CHECK(config::instance_id_from_host("...") == "sunkeep");
}

TEST_CASE("mqtt names: nodes, identifiers, unique ids and entity ids of mqtt.md §2") {
  CHECK(mqtt::node_of("alphaess", "AL2002321010123") == "alphaess_AL2002321010123");
  CHECK(mqtt::node_of("sma", "SN 1/2+#") == "sma_SN_1_2__");
  CHECK(mqtt::device_identifier("alphaess_AL2002321010123") == "sunkeep_alphaess_al2002321010123");
  CHECK(mqtt::server_identifier("homeserver") == "sunkeep_homeserver");
  CHECK(mqtt::unique_id("sunkeep_alphaess_al2002321010123", "pv_power") == "sunkeep_alphaess_al2002321010123_pv_power");
  CHECK(mqtt::default_entity_id("sensor", "sunkeep_alphaess_al2002321010123_pv_power") ==
        "sensor.alphaess_al2002321010123_pv_power");
  CHECK(mqtt::default_entity_id("binary_sensor", "sunkeep_homeserver_status") == "binary_sensor.homeserver_status");
  CHECK(mqtt::number_text(2310) == "2310");
  CHECK(mqtt::number_text(0.1 + 0.2) == "0.3");
  CHECK(mqtt::number_text(52.1) == "52.1");
  CHECK(mqtt::number_text(-1200.5) == "-1200.5");
  CHECK(mqtt::number_text(2310.0000001) == "2310");
}

TEST_CASE("mqtt state: fresh values, null for a stale measurement, counters left out while unknown or held back") {
  DeviceState d = device("alphaess", "AL1");
  const UtcMillis now = 1'750'000'000'000;
  d.metrics["pv_power"] = value(2310, now - 5'000);
  d.metrics["battery_voltage"] = value(52.1, now - 600'000, 300'000);  // a 5-minute record: fresh for 15 minutes
  d.metrics["grid_power"] = value(-1200, now - 40'000);                // older than 3 × 10 s: stale
  d.metrics["pv_energy_total"] = value(12340.5, now - 5'000);
  d.metrics["pv_energy_total"].exposed = 12340.5;
  d.metrics["grid_import_energy_total"] = value(0, now - 5'000);  // a glitch the guard holds back
  d.metrics["grid_import_energy_total"].exposed = 3210.1;
  d.metrics["battery_charge_energy_total"] = value(2100.7, now - 400'000);  // a stale counter
  d.metrics["battery_charge_energy_total"].exposed = 2100.7;
  d.metrics["Ppv1"] = value(1200, now - 5'000, 10'000, false);

  const auto values = mqtt::state_values(d, now);
  const json state = json::parse(mqtt::state_json(values));
  CHECK(state["time"] == format_rfc3339(now - 5'000));
  CHECK(state["pv_power"] == 2310);
  CHECK(state["battery_voltage"] == 52.1);
  CHECK(state["grid_power"].is_null());
  CHECK(state["pv_energy_total"] == 12340.5);
  CHECK_FALSE(state.contains("grid_import_energy_total"));
  CHECK_FALSE(state.contains("battery_charge_energy_total"));
  CHECK_FALSE(state.contains("battery_soc"));  // never produced
  CHECK_FALSE(state.contains("Ppv1"));
  const json vendor = json::parse(mqtt::vendor_json(values));
  CHECK(vendor["Ppv1"] == 1200);
}

TEST_CASE("mqtt discovery: components follow mqtt.md §4.1 in device and component mode") {
  DeviceState d = device("alphaess", "AL2002321010123");
  d.model = "SMILE5";
  d.firmware = "ME-V1.23";
  for (const auto& spec : mqtt::metric_specs()) d.metrics[std::string(spec.metric)] = value(1, 1);
  d.metrics["Ppv1"] = value(1, 1, 10'000, false);
  mqtt::DiscoveryContext c{.base_topic = "sunkeep", .discovery_prefix = "homeassistant", .instance_id = "homeserver",
                           .version = "9.9.9", .qos = 0, .vendor_metrics = true};
  const auto p = mqtt::device_discovery(d, "AlphaESS", "sunkeep_homeserver", c);
  CHECK(p.topic == "homeassistant/device/alphaess_AL2002321010123/config");
  const json payload = json::parse(p.payload);
  test::check_discovery_components(payload, "sunkeep_alphaess_al2002321010123");
  CHECK(payload["components"].size() == mqtt::metric_specs().size() + 1);
  CHECK(payload["device"]["model"] == "SMILE5");
  CHECK(payload["device"]["sw_version"] == "ME-V1.23");
  CHECK(payload["components"]["vendor_ppv1"]["state_topic"] == "sunkeep/alphaess_AL2002321010123/vendor");

  const auto components = mqtt::component_discovery(d, "AlphaESS", "sunkeep_homeserver", c);
  REQUIRE(components.size() == mqtt::metric_specs().size() + 1);
  const auto pv = std::find_if(components.begin(), components.end(), [](const auto& x) {
    return x.topic == "homeassistant/sensor/sunkeep_alphaess_al2002321010123_pv_power/config";
  });
  REQUIRE(pv != components.end());
  const json one = json::parse(pv->payload);
  CHECK_FALSE(one.contains("platform"));
  CHECK(one["device"]["identifiers"][0] == "sunkeep_alphaess_al2002321010123");
  CHECK(one["availability_mode"] == "all");
  CHECK(one["state_topic"] == "sunkeep/alphaess_AL2002321010123/state");
  CHECK(one["device_class"] == "power");
  CHECK(one["default_entity_id"] == "sensor.alphaess_al2002321010123_pv_power");
}

TEST_CASE("mqtt plan: the announce goes status, server, info, then parents before children") {
  Plan plan;
  DeviceState inverter = device("apsystems", "707000017197");
  inverter.parent = "apsystems:216300090693";
  inverter.metrics["pv_power"] = value(131, plan.now);
  DeviceState ecu = device("apsystems", "216300090693");
  ecu.metrics["pv_power"] = value(836, plan.now);
  plan.take(inverter);
  plan.take(ecu);
  plan.announcer->announce(true);
  const auto sent = plan.drain();
  REQUIRE(sent.size() >= 3);
  CHECK(sent[0].topic == "sunkeep/status");
  CHECK(sent[0].payload == "online");
  CHECK(sent[1].topic == "homeassistant/device/sunkeep_testhost/config");
  CHECK(sent[2].topic == "sunkeep/info");
  const auto ecu_config = index_of(sent, "homeassistant/device/apsystems_216300090693/config");
  const auto inverter_config = index_of(sent, "homeassistant/device/apsystems_707000017197/config");
  CHECK(ecu_config < inverter_config);
  CHECK(index_of(sent, "sunkeep/apsystems_216300090693/state") < inverter_config);
  const json inverter_discovery = json::parse(find(sent, "homeassistant/device/apsystems_707000017197/config")->payload);
  CHECK(inverter_discovery["device"]["via_device"] == "sunkeep_apsystems_216300090693");
  CHECK(find(sent, "sunkeep/apsystems_216300090693/availability")->payload == "online");
  for (const auto& m : sent) {
    if (m.kind == "discovery" || m.kind == "availability" || m.kind == "status") CHECK((m.qos == 1 && m.retain));
  }
}

TEST_CASE("mqtt plan: one state per publish_interval, the newest wins, backfill is never published") {
  Plan plan([](config::MqttConfig& m) { m.publish_interval = 10s; });
  plan.announcer->announce(true);
  DeviceState d = device("alphaess", "AL1");
  d.metrics["battery_power"] = value(100, plan.now);
  plan.take(d);
  auto sent = plan.drain();
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/state"));
  CHECK(json::parse(find(sent, "sunkeep/alphaess_AL1/state")->payload)["battery_power"] == 100);

  for (int i = 1; i <= 4; ++i) {  // four records within the interval: replaced, not queued
    plan.advance(2s);
    d.metrics["battery_power"] = value(100 + i, plan.now);
    plan.take(d);
    CHECK_FALSE(find(plan.drain(), "sunkeep/alphaess_AL1/state"));
  }
  plan.advance(2s);
  sent = plan.drain();
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/state"));
  CHECK(json::parse(find(sent, "sunkeep/alphaess_AL1/state")->payload)["battery_power"] == 104);
  CHECK(plan.metrics.counter("sunkeep_mqtt_messages_dropped_total", "", {{"reason", "superseded"}}).value() == 3);

  // Backfill: an older record (Resume) changes nothing newer: nothing is published.
  plan.advance(20s);
  DeviceState with_backfill = d;
  with_backfill.last_seen = plan.now;
  plan.take(with_backfill);
  CHECK_FALSE(find(plan.drain(), "sunkeep/alphaess_AL1/state"));
  CHECK(plan.announcer->next_due() == std::chrono::steady_clock::time_point::max());

  // A Resume after an outage: 5-minute rows an hour old arrive now. Newer than this metric's last
  // value, but more than its window (3 × 300 s) older than the state published: not published.
  plan.advance(1s);
  d.metrics["battery_voltage"] = value(51.0, plan.now - 3'600'000, 300'000);
  d.metrics["battery_voltage"].arrived = plan.now;
  plan.take(d);
  CHECK_FALSE(find(plan.drain(), "sunkeep/alphaess_AL1/state"));
  // The latest 5-minute row, a little older than the last realtime push: published.
  plan.advance(1s);
  d.metrics["battery_voltage"] = value(52.5, plan.now - 60'000, 300'000);
  d.metrics["battery_voltage"].arrived = plan.now;
  plan.take(d);
  sent = plan.drain();
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/state"));
  CHECK(json::parse(find(sent, "sunkeep/alphaess_AL1/state")->payload)["battery_voltage"] == 52.5);
}

TEST_CASE("mqtt plan: per_metric_topics and vendor_metrics add their topics, state not retained on request") {
  Plan plan([](config::MqttConfig& m) {
    m.per_metric_topics = true;
    m.vendor_metrics = true;
    m.retain_state = false;
    m.qos = 1;
  });
  plan.announcer->announce(true);
  DeviceState d = device("alphaess", "AL1");
  d.metrics["pv_power"] = value(2310, plan.now);
  d.metrics["Ppv1"] = value(1200, plan.now, 10'000, false);
  plan.take(d);
  const auto sent = plan.drain();
  const auto* state = find(sent, "sunkeep/alphaess_AL1/state");
  REQUIRE(state);
  CHECK_FALSE(state->retain);
  CHECK(state->qos == 1);
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/pv_power"));
  CHECK(find(sent, "sunkeep/alphaess_AL1/pv_power")->payload == "2310");
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/vendor"));
  CHECK(json::parse(find(sent, "sunkeep/alphaess_AL1/vendor")->payload)["Ppv1"] == 1200);
  const json discovery = json::parse(find(sent, "homeassistant/device/alphaess_AL1/config")->payload);
  CHECK(discovery["components"]["vendor_ppv1"]["enabled_by_default"] == false);
}

TEST_CASE("mqtt plan: availability follows the API's online within a tick, events go out once each") {
  Plan plan;
  plan.announcer->announce(true);
  DeviceState d = device("alphaess", "AL1");
  d.metrics["pv_power"] = value(1, plan.now);
  DeviceEvent event{.source = "EventLog", .device_time = std::nullopt, .code = "41", .text = "grid lost", .utc = plan.now};
  plan.take(d, {event});
  auto sent = plan.drain();
  CHECK(find(sent, "sunkeep/alphaess_AL1/availability")->payload == "online");
  const auto* e = find(sent, "sunkeep/alphaess_AL1/event");
  REQUIRE(e);
  CHECK_FALSE(e->retain);
  CHECK(json::parse(e->payload)["code"] == "41");
  plan.offline.insert("AL1");
  plan.advance(1s);
  sent = plan.drain();
  REQUIRE(find(sent, "sunkeep/alphaess_AL1/availability"));
  CHECK(find(sent, "sunkeep/alphaess_AL1/availability")->payload == "offline");
  CHECK_FALSE(find(sent, "sunkeep/alphaess_AL1/event"));
}

TEST_CASE("mqtt plan: recorded topics no longer published are emptied, component topics migrated to device mode") {
  const std::map<std::string, std::string> recorded{
      {"homeassistant/sensor/sunkeep_alphaess_al1_pv_power/config", "component:sunkeep_alphaess_al1"},
      {"homeassistant/sensor/sunkeep_alphaess_al1_battery_soc/config", "component:sunkeep_alphaess_al1"},
      {"oldbase/alphaess_AL1/state", ""},
      {"sunkeep/alphaess_AL1/state", ""}};
  Plan plan({}, recorded);
  DeviceState d = device("alphaess", "AL1");
  d.metrics["pv_power"] = value(1, plan.now);
  plan.take(d);
  plan.announcer->announce(true);
  const auto sent = plan.drain();
  const std::string old_pv = "homeassistant/sensor/sunkeep_alphaess_al1_pv_power/config";
  const auto migrate = index_of(sent, old_pv);
  const auto device_config = index_of(sent, "homeassistant/device/alphaess_AL1/config");
  REQUIRE(migrate < sent.size());
  CHECK(sent[migrate].payload == R"({"migrate_discovery":true})");
  CHECK(migrate < device_config);
  // Then the old topics are emptied, after the device payload; the current state topic is kept.
  std::set<std::string> emptied;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (sent[i].payload.empty()) {
      CHECK(i > device_config);
      CHECK(sent[i].retain);
      emptied.insert(sent[i].topic);
    }
  }
  CHECK(emptied == std::set<std::string>{old_pv, "homeassistant/sensor/sunkeep_alphaess_al1_battery_soc/config",
                                         "oldbase/alphaess_AL1/state"});
  for (const auto& topic : emptied) plan.announcer->forget(topic);  // the broker's acknowledgements
  const auto [published, forgotten] = plan.announcer->take_topic_records();
  CHECK(forgotten.size() == 3);
  CHECK(std::count_if(published.begin(), published.end(), [](const auto& p) { return p.first == "sunkeep/status"; }) == 1);
}

TEST_CASE("mqtt plan: discovery = false announces nothing to HA and removes what was announced") {
  Plan plan([](config::MqttConfig& m) { m.discovery = false; },
            {{"homeassistant/device/alphaess_AL1/config", ""}, {"homeassistant/device/sunkeep_testhost/config", ""}});
  DeviceState d = device("alphaess", "AL1");
  d.metrics["pv_power"] = value(1, plan.now);
  plan.take(d);
  plan.announcer->announce(true);
  const auto sent = plan.drain();
  for (const auto& m : sent) {
    if (m.topic.starts_with("homeassistant/")) CHECK(m.payload.empty());
  }
  CHECK(find(sent, "homeassistant/device/alphaess_AL1/config"));
  CHECK(find(sent, "sunkeep/alphaess_AL1/state"));
}

TEST_CASE("mqtt guard: a lifetime counter that drops to 0 never goes down on MQTT - 24 h lower is a reset") {
  metrics::Registry registry;
  server::EnergyGuard guard(registry);
  auto latest = std::make_shared<server::LatestValues>(guard);
  struct Collect : LatestValuesSubscriber {
    void updated(std::vector<DeviceUpdate> updates) override {
      for (auto& u : updates) states.push_back(u.state);
    }
    std::vector<std::shared_ptr<const DeviceState>> states;
  };
  auto collect = std::make_shared<Collect>();
  latest->subscribe(collect);
  UtcMillis t = 1'750'000'000'000;
  const auto observe = [&](double total) {
    Observation seen;
    seen.vendor = "alphaess";
    seen.serial = "AL1";
    seen.received = t;
    seen.cadence_ms = 3'600'000;
    seen.readings.push_back({"pv_energy_total", "kWh", total, true});
    latest->consume(seen);
    return json::parse(mqtt::state_json(mqtt::state_values(*collect->states.back(), t)));
  };
  CHECK(observe(100.0)["pv_energy_total"] == 100);
  t += 3'600'000;
  CHECK_FALSE(observe(0.0).contains("pv_energy_total"));  // the glitch: left out, HA keeps 100
  t += 3'600'000;
  CHECK(observe(100.5)["pv_energy_total"] == 100.5);  // recovered
  t += 3'600'000;
  for (int hour = 0; hour <= 24; ++hour, t += 3'600'000) {
    const json state = observe(3.0 + hour * 0.1);  // a replaced meter starting again near 0
    if (hour < 24) CHECK_FALSE(state.contains("pv_energy_total"));
    if (hour == 24) CHECK(state["pv_energy_total"] == doctest::Approx(5.4));
  }
}
