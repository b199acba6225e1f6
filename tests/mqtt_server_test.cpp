// MQTT end to end (mqtt.md), against a real mosquitto the test starts on loopback: the server with
// simulated AlphaESS, Sermatec and APsystems devices publishes discovery (golden files and
// mqtt.md §4.1's table), status, availability, device objects and state; re-announces after
// Home Assistant's birth and after the broker comes back; says `offline` at shutdown; logs in with
// a password, a password file and TLS; and the devices never wait for any of it.
#include "tests/support/device_api.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_ecu.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/mosquitto_broker.hpp"
#include "tests/support/mqtt_checks.hpp"
#include "tests/support/mqtt_subscriber.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string alpha_serial = "AL2002321010123";
const std::string alpha_node = "alphaess_" + alpha_serial;
const std::string sermatec_serial = "ST" + std::string(24, '1');

void publish_to(config::Config& c, const std::string& url) {
  c.mqtt.enabled = true;
  c.mqtt.url = url;
  c.mqtt.instance_id = "testhost";
  c.mqtt.publish_interval = 0ms;
}

// The device clock now (plus `ahead` seconds), as AlphaESS writes it (the test server's zone is UTC).
std::string device_now(int ahead = 0) {
  const std::time_t t = std::time(nullptr) + ahead;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y/%m/%d %H:%M:%S", &utc);
  return text;
}

// A realtime push; `ahead` keeps records of quick successive rounds apart (one key a second).
std::string push(const std::string& serial, double pbat = 539.44, int ahead = 0) {
  return R"({"Time":")" + device_now(ahead) + R"(","SN":")" + serial +
         R"(","Ppv1":"1200","Ppv2":"310","PrealL1":"420","PrealL2":"0.0","PrealL3":"0.0","PmeterL1":"-4",)"
         R"("PmeterL2":"0","PmeterL3":"0","PmeterDC":"0","Pbat":")" +
         std::to_string(pbat) + R"(","Sva":"405","VarAC":"-669","VarDC":"96","SOC":"38.0"})";
}

// An AlphaESS device that has logged in and pushed one realtime record (acked).
std::unique_ptr<FakeDevice> alpha_device(std::uint16_t port, const std::string& serial) {
  auto device = std::make_unique<FakeDevice>(port);
  REQUIRE(device->exchange(2, R"({"UserName":")" + serial + R"(","Password":"pw","CompanyName":"AlphaESS"})"));
  REQUIRE(device->exchange(16, push(serial)));
  return device;
}

json retained_json(std::uint16_t port, const std::string& topic) {
  const auto all = retained_messages(port, topic);
  const auto it = all.find(topic);
  REQUIRE_MESSAGE(it != all.end(), "nothing retained on " << topic);
  return json::parse(it->second);
}

bool has(const MqttSubscriber& sub, const std::string& topic, const std::string& payload = "") {
  const auto last = sub.last(topic);
  return last && (payload.empty() || *last == payload);
}

}  // namespace

TEST_CASE("mqtt: AlphaESS, Sermatec and APsystems devices appear in Home Assistant by themselves") {
  MosquittoBroker broker;
  MqttSubscriber sub(broker.port());
  FakeEcu ecu;
  TestServer server(
      [&](config::Config& c) {
        publish_to(c, broker.url());
        c.sermatec.enabled = true;
        c.apsystems.enabled = true;
        c.apsystems.poll_interval = 600ms;
        c.apsystems.command_pause = 60ms;
        c.apsystems.ecus = {config::ApsystemsEcu{.host = "127.0.0.1", .port = ecu.port()}};
      });
  auto device = alpha_device(server.port(), alpha_serial);
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), typical_inverter(sermatec_serial));
  const std::string alpha_config = "homeassistant/device/" + alpha_node + "/config";
  const std::string sermatec_config = "homeassistant/device/sermatec_" + sermatec_serial + "/config";
  const std::string ecu_config = "homeassistant/device/apsystems_216300090693/config";
  const std::string inverter_config = "homeassistant/device/apsystems_707000017197/config";
  const auto discovered = [&](const std::string& topic, const std::string& component) {
    const auto last = sub.last(topic);
    return last && !last->empty() && json::parse(*last)["components"].contains(component);
  };
  REQUIRE(sub.wait_for([&] {
    return discovered(alpha_config, "battery_soc") && discovered(sermatec_config, "pv_energy_today") &&
           discovered(ecu_config, "pv_energy_total") && discovered(inverter_config, "signal_strength");
  }, 20s));
  CHECK(sub.wait_for([&] { return has(sub, "sunkeep/status", "online"); }));
  CHECK(sub.wait_for([&] { return has(sub, "sunkeep/" + alpha_node + "/availability", "online"); }));

  const json alpha = retained_json(broker.port(), alpha_config);
  check_discovery_components(alpha, "sunkeep_alphaess_al2002321010123");
  CHECK(alpha["device"]["via_device"] == "sunkeep_testhost");
  CHECK(alpha["availability_mode"] == "all");
  check_golden("alphaess_device", alpha);

  const json sermatec = retained_json(broker.port(), sermatec_config);
  check_discovery_components(sermatec, "sunkeep_sermatec_" + std::string("st") + std::string(24, '1'));
  check_golden("sermatec_device", sermatec);

  const json ecu_discovery = retained_json(broker.port(), ecu_config);
  check_discovery_components(ecu_discovery, "sunkeep_apsystems_216300090693");
  const json inverter_discovery = retained_json(broker.port(), inverter_config);
  check_discovery_components(inverter_discovery, "sunkeep_apsystems_707000017197");
  CHECK(inverter_discovery["device"]["via_device"] == "sunkeep_apsystems_216300090693");  // its ECU
  check_golden("apsystems_ecu_device", ecu_discovery);
  check_golden("apsystems_inverter_device", inverter_discovery);

  const json server_device = retained_json(broker.port(), "homeassistant/device/sunkeep_testhost/config");
  CHECK_FALSE(server_device.contains("availability"));
  CHECK(server_device["components"]["status"]["state_topic"] == "sunkeep/status");
  check_golden("server_device", server_device);

  // The state: canonical names, units and signs, numbers as the device gave them.
  REQUIRE(sub.wait_for([&] { return has(sub, "sunkeep/" + alpha_node + "/state"); }));
  const json state = json::parse(*sub.last("sunkeep/" + alpha_node + "/state"));
  CHECK(state["pv_power"] == 1510);
  CHECK(state["grid_power"] == -4);
  CHECK(state["battery_power"] == doctest::Approx(539.44));
  CHECK(state["battery_soc"] == 38);
  CHECK(state["time"].get<std::string>().ends_with("Z"));
  const json device_object = json::parse(*sub.last("sunkeep/" + alpha_node + "/device"));
  CHECK(device_object["id"] == "alphaess:" + alpha_serial);
  CHECK_FALSE(device_object.contains("online"));
  CHECK_FALSE(device_object.contains("last_seen"));
  const json info = json::parse(*sub.last("sunkeep/info"));
  CHECK(info["instance"] == "testhost");

  const json health = json::parse(http_get(server.http_port(), "/api/v1/health").body);
  CHECK(health["mqtt"] == "connected");
  const std::string metrics = http_get(server.http_port(), "/metrics").body;
  CHECK(metrics.find("sunkeep_mqtt_connected 1") != std::string::npos);
  CHECK(metrics.find("sunkeep_mqtt_messages_published_total{kind=\"discovery\"}") != std::string::npos);

  // Shutdown: `offline` on the status topic (the Last Will is for a crash).
  device->close();
  server.stop();
  CHECK(sub.wait_for([&] { return has(sub, "sunkeep/status", "offline"); }, 3s));
  CHECK(retained_messages(broker.port(), "sunkeep/status")["sunkeep/status"] == "offline");
}

TEST_CASE("mqtt: Home Assistant's birth message brings the announce again") {
  MosquittoBroker broker;
  TestServer server([&](config::Config& c) { publish_to(c, broker.url()); });
  auto device = alpha_device(server.port(), alpha_serial);
  MqttSubscriber sub(broker.port());
  const std::string config_topic = "homeassistant/device/" + alpha_node + "/config";
  REQUIRE(sub.wait_for([&] { return sub.count(config_topic) >= 1; }));  // retained, on subscribing
  sub.clear();
  sub.publish("homeassistant/status", "online");
  CHECK(sub.wait_for([&] { return sub.count(config_topic) >= 1 && sub.count("sunkeep/status") >= 1; }, 8s));
  CHECK(sub.count("homeassistant/device/sunkeep_testhost/config") >= 1);
  // Only HA's birth counts: anything else on the topic is ignored.
  sub.clear();
  sub.publish("homeassistant/status", "offline");
  std::this_thread::sleep_for(6s);
  CHECK(sub.count(config_topic) == 0);
}

TEST_CASE("mqtt: the broker paused, then killed while devices stream: acks go on, all comes back after") {
  constexpr int device_count = 200;
  MosquittoBroker broker;
  LogCapture log;
  TestServer server([&](config::Config& c) {
    publish_to(c, broker.url());
    c.mqtt.keepalive = 5s;
    c.mqtt.max_pending = 50;
    c.alphaess.limits.max_connections_per_host = 1000;
  });
  MqttSubscriber first(broker.port());
  std::vector<std::unique_ptr<FakeDevice>> devices;
  for (int i = 0; i < device_count; ++i) devices.push_back(alpha_device(server.port(), "AL" + std::to_string(1000000000000 + i)));
  REQUIRE(first.wait_for([&] { return has(first, "sunkeep/alphaess_AL1000000000199/state"); }, 20s));

  int round_number = 0;
  const auto stream_round = [&](double pbat) {
    ++round_number;
    auto slowest = 0ms;
    for (int i = 0; i < device_count; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const auto ack = devices[static_cast<std::size_t>(i)]->exchange(16, push("AL" + std::to_string(1000000000000 + i), pbat, round_number));
      REQUIRE(ack);
      slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start));
    }
    return slowest;
  };
  broker.pause();
  for (int round = 0; round < 3; ++round) CHECK(stream_round(100.0 + round) < 2s);  // every ack, none held up
  broker.kill();
  for (int round = 0; round < 2; ++round) CHECK(stream_round(200.0 + round) < 2s);
  CHECK(json::parse(http_get(server.http_port(), "/api/v1/health").body)["mqtt"] == "disconnected");
  const std::string metrics = http_get(server.http_port(), "/metrics").body;
  CHECK(metrics.find("sunkeep_mqtt_connected 0") != std::string::npos);
  // Memory is bounded: nothing waits in the client beyond the in-flight cap; states were replaced.
  const auto pending_at = metrics.find("\nsunkeep_mqtt_pending_messages ");
  REQUIRE(pending_at != std::string::npos);
  CHECK(std::stoi(metrics.substr(pending_at + 31)) <= 50);
  CHECK(metrics.find("sunkeep_mqtt_messages_dropped_total{reason=\"superseded\"} 0") == std::string::npos);

  first.clear();
  broker.restart();
  MqttSubscriber& after = first;  // it connects again by itself
  // Within the back-off (at most 60 s ± 20 %): status, discovery, availability and the newest state.
  const std::string last_device = "alphaess_AL1000000000199";
  const bool back = after.wait_for([&] {
    const auto state = after.last("sunkeep/" + last_device + "/state");
    return has(after, "sunkeep/status", "online") && has(after, "homeassistant/device/" + last_device + "/config") &&
           has(after, "sunkeep/" + last_device + "/availability", "online") && state &&
           json::parse(*state)["battery_power"] == 201;
  }, 75s);
  if (!back) {
    for (const auto& t : {"sunkeep/status", "sunkeep/info"}) MESSAGE(t << ": " << after.last(t).value_or("-"));
    MESSAGE("state: " << after.last("sunkeep/" + last_device + "/state").value_or("-"));
    MESSAGE("availability: " << after.last("sunkeep/" + last_device + "/availability").value_or("-"));
    MESSAGE("config: " << after.last("homeassistant/device/" + last_device + "/config").value_or("-").substr(0, 60));
    MESSAGE("messages after restart: " << after.messages().size());
    MESSAGE(log.text().substr(log.text().size() > 3000 ? log.text().size() - 3000 : 0));
  }
  REQUIRE(back);
  CHECK(log.lines_with("mqtt: disconnected") == 1);  // once per change of state, not per retry
  CHECK(log.lines_with("mqtt: connected to") == 2);
}

TEST_CASE("mqtt: a broker that wants a password: password, password_file, and a wrong one refused") {
  MosquittoBroker broker(BrokerOptions{.username = "sunkeep", .password = "s3cret pass"});
  const SubscriberOptions login{.username = "sunkeep", .password = "s3cret pass"};
  SUBCASE("password") {
    TestServer server([&](config::Config& c) {
      publish_to(c, broker.url());
      c.mqtt.username = "sunkeep";
      c.mqtt.password = "s3cret pass";
    });
    CHECK(eventually([&] { return retained_messages(broker.port(), "sunkeep/status", login)["sunkeep/status"] == "online"; }, 10s));
  }
  SUBCASE("password_file, as a systemd credential") {
    TempDir dir;
    std::ofstream(dir.file("mqtt_password")) << "s3cret pass\n";
    ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
    TestServer server([&](config::Config& c) {
      publish_to(c, broker.url());
      c.mqtt.username = "sunkeep";
      c.mqtt.password_file = "$CREDENTIALS_DIRECTORY/mqtt_password";
    });
    ::unsetenv("CREDENTIALS_DIRECTORY");
    CHECK(eventually([&] { return retained_messages(broker.port(), "sunkeep/status", login)["sunkeep/status"] == "online"; }, 10s));
  }
  SUBCASE("a wrong password: one clear log line, the secret in none") {
    LogCapture log;
    TestServer server([&](config::Config& c) {
      publish_to(c, broker.url());
      c.mqtt.username = "sunkeep";
      c.mqtt.password = "wrong-secret";
    });
    CHECK(eventually([&] { return log.lines_with("not authori") == 1; }, 10s));
    CHECK(log.text().find("wrong-secret") == std::string::npos);
    CHECK(json::parse(http_get(server.http_port(), "/api/v1/health").body)["mqtt"] == "disconnected");
  }
  SUBCASE("an unreadable password_file stops the start, naming the file") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(TestServer([&](config::Config& c) {
                           publish_to(c, broker.url());
                           c.mqtt.password_file = dir.file("missing");
                         }),
                         doctest::Contains("missing"), std::runtime_error);
  }
}

TEST_CASE("mqtt: TLS with a CA file and a client certificate - a wrong CA refused with a clear log line") {
  MosquittoBroker broker(BrokerOptions{.tls = true, .require_client_certificate = true});
  SUBCASE("the right CA and a client certificate") {
    TestServer server([&](config::Config& c) {
      publish_to(c, broker.tls_url());
      c.mqtt.tls_ca_file = broker.ca_file();
      c.mqtt.tls_cert_file = broker.client_cert_file();
      c.mqtt.tls_key_file = broker.client_key_file();
    });
    CHECK(eventually([&] { return retained_messages(broker.port(), "sunkeep/status")["sunkeep/status"] == "online"; }, 10s));
  }
  SUBCASE("a CA that did not sign the broker's certificate") {
    LogCapture log;
    TestServer server([&](config::Config& c) {
      publish_to(c, broker.tls_url());
      c.mqtt.tls_ca_file = broker.other_ca_file();
      c.mqtt.tls_cert_file = broker.client_cert_file();
      c.mqtt.tls_key_file = broker.client_key_file();
    });
    CHECK(eventually([&] { return log.lines_with("mqtt: disconnected") == 1; }, 10s));
    CHECK(log.lines_with("certificate verify failed") == 1);
    CHECK(retained_messages(broker.port(), "sunkeep/status").empty());
  }
}

TEST_CASE("mqtt: component mode, then device mode, then discovery = false leave no retained topic behind") {
  MosquittoBroker broker;
  TempDir dir;
  const auto run = [&](const std::function<void(config::MqttConfig&)>& adjust, const std::function<bool()>& done) {
    TestServer server(dir, [&](config::Config& c) {
      publish_to(c, broker.url());
      adjust(c.mqtt);
    });
    auto device = alpha_device(server.port(), alpha_serial);
    REQUIRE(eventually(done, 15s));
    device->close();
  };
  const auto discovery_topics = [&] {
    std::set<std::string> found;
    for (const auto& [topic, payload] : retained_messages(broker.port(), "homeassistant/#")) found.insert(topic);
    return found;
  };
  const std::string pv_component = "homeassistant/sensor/sunkeep_alphaess_al2002321010123_pv_power/config";
  run([](config::MqttConfig& m) { m.discovery_mode = "component"; },
      [&] { return discovery_topics().contains(pv_component); });
  CHECK(discovery_topics().contains("homeassistant/binary_sensor/sunkeep_testhost_status/config"));

  MqttSubscriber watch(broker.port(), "homeassistant/#");
  const std::string device_config = "homeassistant/device/" + alpha_node + "/config";
  run([](config::MqttConfig&) {}, [&] {
    const auto topics = discovery_topics();
    return topics.contains(device_config) && !topics.contains(pv_component);
  });
  CHECK(discovery_topics() == std::set<std::string>{device_config, "homeassistant/device/sunkeep_testhost/config"});
  // HA's migration: migrate_discovery on the old topic, then the device payload, then the empty one.
  std::vector<std::string> order;
  for (const auto& m : watch.messages()) {
    if (m.topic == pv_component && m.payload == R"({"migrate_discovery":true})") order.push_back("migrate");
    if (m.topic == device_config && !m.payload.empty() && !m.retained) order.push_back("device");
    if (m.topic == pv_component && m.payload.empty()) order.push_back("empty");
  }
  CHECK(order == std::vector<std::string>{"migrate", "device", "empty"});

  run([](config::MqttConfig& m) { m.discovery = false; }, [&] { return discovery_topics().empty(); });
  const auto left = retained_messages(broker.port());
  CHECK(left.contains("sunkeep/" + alpha_node + "/state"));
  CHECK(left.contains("sunkeep/status"));
}

TEST_CASE("mqtt: the real binary says offline at SIGTERM within 2 s and leaves its Last Will when killed") {
  MosquittoBroker broker;
  TempDir dir;
  const std::string config = write_loopback_config(dir.path().string());
  std::ofstream(config, std::ios::app) << "[mqtt]\nenabled = true\nurl = \"" << broker.url() << "\"\ninstance_id = \"bin\"\n";
  MqttSubscriber sub(broker.port(), "sunkeep/status");
  {
    ServerProcess server({.config_path = config, .log_path = dir.file("a.log")});
    REQUIRE(sub.wait_for([&] { return has(sub, "sunkeep/status", "online"); }));
    const auto sent = std::chrono::steady_clock::now();
    CHECK(server.terminate(5s) == 0);
    CHECK(std::chrono::steady_clock::now() - sent <= 2s);
    CHECK(has(sub, "sunkeep/status", "offline"));
  }
  sub.clear();
  ServerProcess server({.config_path = config, .log_path = dir.file("b.log")});
  REQUIRE(sub.wait_for([&] { return has(sub, "sunkeep/status", "online"); }));
  server.kill_hard();  // no DISCONNECT: the broker publishes the will
  CHECK(sub.wait_for([&] { return has(sub, "sunkeep/status", "offline"); }, 5s));
  CHECK(retained_messages(broker.port(), "sunkeep/status")["sunkeep/status"] == "offline");

  std::ofstream(config, std::ios::app) << "username = \"u\"\npassword_file = \"" << dir.file("absent") << "\"\n";
  CHECK(run_until_exit({.config_path = config, .log_path = dir.file("c.log")}) == 1);
  CHECK(file_text(dir.file("c.log")).find(dir.file("absent")) != std::string::npos);
}

TEST_CASE("mqtt: health says disabled without [mqtt]") {
  TestServer server;
  CHECK(json::parse(http_get(server.http_port(), "/api/v1/health").body)["mqtt"] == "disabled");
}
