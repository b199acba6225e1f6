// SMA end to end (sma-speedwire.md §9): a simulated inverter on a loopback UDP port polled by the
// real server, Energy Meter datagrams sent to its meter port, and the results read back over the
// HTTP API and from the database: values, device info, events, online state, the login kept
// across cycles, the refused password, logoff at shutdown, the meter's thinning and counter rule,
// sunkeep's own bus serial, and the password never leaking anywhere.
#include "protocol/sma/requests.hpp"
#include "tests/support/device_api.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_sma.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string inverter_path = "/api/v1/devices/sma:3010538116";

void poll_inverter(config::Config& c, std::uint16_t port, const std::string& password = "0000") {
  c.sma.enabled = true;
  c.sma.energy_meter = false;
  c.sma.poll_interval = 400ms;
  c.sma.timeout = 150ms;
  c.sma.retries = 1;
  c.sma.password = password;
  c.sma.inverters = {config::SmaInverter{.host = "127.0.0.1", .port = port}};
}

void listen_for_meters(config::Config& c, std::chrono::milliseconds interval) {
  c.sma.enabled = true;
  c.sma.energy_meter = true;
  c.sma.energy_meter_interval = interval;
}

json get_json(std::uint16_t port, const std::string& path) {
  const HttpReply r = http_get(port, path);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

// Waits (bounded) until the device's latest values hold `metric`.
json latest_with(std::uint16_t port, const std::string& path, const std::string& metric) {
  json latest;
  const bool seen = eventually(
      [&] {
        const HttpReply r = http_get(port, path + "/latest");
        if (r.status != 200) return false;
        latest = json::parse(r.body);
        return latest["metrics"].contains(metric);
      },
      10s);
  REQUIRE_MESSAGE(seen, "metric " << metric << " never appeared at " << path);
  return latest;
}

std::vector<std::uint8_t> sma_fixture(const std::string& name) { return fixture_bytes("sma/" + name); }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool whitelisted(std::uint32_t command, const std::vector<std::uint8_t>& request) {
  if (command == sma::command_identify || command == sma::command_login || command == sma::command_logoff) return true;
  const auto p = sma::parse_inverter_packet(request);
  return std::any_of(sma::query_table().begin(), sma::query_table().end(), [&](const sma::QueryRow& row) {
    return p && row.command == p->command && row.first == p->first && p->last && row.last == *p->last;
  });
}

std::size_t count_of(const std::vector<std::uint32_t>& commands, std::uint32_t command) {
  return static_cast<std::size_t>(std::count(commands.begin(), commands.end(), command));
}

}  // namespace

TEST_CASE("sma: an inverter is identified, logged in once, polled over UDP and read back over HTTP") {
  FakeSmaInverter inverter;
  auto server = std::make_unique<TestServer>([&](config::Config& c) { poll_inverter(c, inverter.port()); });
  const json latest = latest_with(server->http_port(), inverter_path, "grid_relay");
  const json& m = latest["metrics"];
  CHECK(m["pv_power"]["value"] == 181.0);
  CHECK(m["dc_power_1"]["value"] == 87.0);
  CHECK(m["ac_power"]["value"] == 168.0);  // the AC total is NaN: the sum of the phases
  CHECK_FALSE(m.contains("ac_power_total"));
  CHECK(m["dc_voltage_1"]["value"].get<double>() == doctest::Approx(248.37));
  CHECK(m["dc_current_2"]["value"].get<double>() == doctest::Approx(0.405));
  CHECK(m["ac_voltage_l1"]["value"].get<double>() == doctest::Approx(228.74));
  CHECK(m["ac_current_l1"]["value"].get<double>() == doctest::Approx(0.292));
  CHECK(m["grid_frequency"]["value"].get<double>() == doctest::Approx(50.01));
  CHECK(m["inverter_temperature"]["value"].get<double>() == doctest::Approx(38.5));
  CHECK(m["pv_energy_total"]["value"].get<double>() == doctest::Approx(33304.161));
  CHECK(m["pv_energy_today"]["value"].get<double>() == doctest::Approx(6.391));
  CHECK(m["device_status"]["value"] == 307.0);
  CHECK(m["pv_power"]["unit"] == "W");

  const json device = get_json(server->http_port(), inverter_path);
  CHECK(device["model"] == "SMA type 9345, class 8001");
  CHECK(device["firmware"] == "03.10.10.R");
  CHECK(device["online"] == true);
  CHECK(device["vendor"] == "sma");
  // A status change is an event (the first value after start is none).
  CHECK_FALSE(has_event(server->http_port(), inverter_path, "307"));
  inverter.with([](SimulatedInverter& d) { d.device_status = 455; });
  CHECK(eventually([&] { return has_event(server->http_port(), inverter_path, "455"); }, 5s));

  // Several cycles: one identify, one login; only whitelisted requests.
  REQUIRE(eventually([&] { return server->sma_counters().polls_answered.value() >= 40; }, 10s));
  inverter.with([](SimulatedInverter& d) {
    CHECK(count_of(d.commands, sma::command_identify) == 1);
    CHECK(count_of(d.commands, sma::command_login) == 1);
    for (std::size_t i = 0; i < d.commands.size(); ++i) CHECK(whitelisted(d.commands[i], d.received[i]));
  });

  // The archived login has its password bytes zeroed.
  const json frames = get_json(server->http_port(), inverter_path + "/frames?limit=1000");
  bool login_seen = false;
  for (const auto& f : frames["frames"]) {
    if (f["command"] != 0xFFFD040C) continue;
    login_seen = true;
    CHECK(f["hex"].get<std::string>().substr(124, 24) == std::string(24, '0'));
  }
  CHECK(login_seen);

  // Shutdown logs off.
  server.reset();
  CHECK(eventually([&] { return inverter.with([](SimulatedInverter& d) { return count_of(d.commands, sma::command_logoff) == 1; }); }, 2s));
}

TEST_CASE("sma: a refused password raises auth_failed, takes the inverter offline and never shows the password") {
  const std::string password = "Wr0ngPass1";
  SimulatedInverter device;
  device.password = password;     // accepted at first
  device.echoes_password = true;  // login replies repeat the password bytes
  FakeSmaInverter inverter(device);
  LogCapture log;
  TestServer server([&](config::Config& c) { poll_inverter(c, inverter.port(), password); });
  latest_with(server.http_port(), inverter_path, "grid_relay");
  CHECK(get_json(server.http_port(), inverter_path)["online"] == true);

  // The owner changes the password on the inverter; the session is lost, the new login refused.
  inverter.with([](SimulatedInverter& d) {
    d.password = "Right0Pass";
    d.logged_in = false;
  });
  REQUIRE(eventually([&] { return has_event(server.http_port(), inverter_path, "auth_failed"); }, 10s));
  CHECK(get_json(server.http_port(), inverter_path)["online"] == false);
  std::this_thread::sleep_for(1500ms);  // several cycles: no further login within the 15 minutes
  inverter.with([](SimulatedInverter& d) { CHECK(count_of(d.commands, sma::command_login) == 2); });
  CHECK(server.sma_counters().logins_refused.value() == 1);

  // Neither the password nor its encoded bytes (raw, or as hex either case) appear anywhere.
  const auto encoded = *sma::encode_password(password, sma::UserGroup::user);
  const std::string encoded_raw(encoded.begin(), encoded.begin() + static_cast<long>(password.size()));
  std::string encoded_hex;
  std::string plain_hex;
  for (std::size_t i = 0; i < password.size(); ++i) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", encoded[i]);
    encoded_hex += two;
    std::snprintf(two, sizeof two, "%02x", static_cast<unsigned char>(password[i]));
    plain_hex += two;
  }
  std::string everything = log.text();
  for (const std::string& path : std::vector<std::string>{"/api/v1/devices", inverter_path, inverter_path + "/events",
                                                          inverter_path + "/latest", inverter_path + "/frames?limit=1000",
                                                          "/metrics", "/api/v1/health"}) {
    everything += http_get(server.http_port(), path).body;
  }
  server.stop();
  everything += file_bytes(server.db_path()) + file_bytes(server.db_path() + "-wal");
  std::string lower = everything;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  CHECK(everything.find(password) == std::string::npos);
  CHECK(everything.find(encoded_raw) == std::string::npos);
  CHECK(lower.find(encoded_hex) == std::string::npos);
  CHECK(lower.find(plain_hex) == std::string::npos);
}

TEST_CASE("sma: energy meter datagrams are stored once per interval and a decreasing counter is held back") {
  TestServer server([](config::Config& c) { listen_for_meters(c, 300ms); });
  const std::string meter = "/api/v1/devices/sma:1901429669";
  send_udp(server.sma_meter_port(), sma_fixture("emeter_6069_mlasch_pkt0.bin"));
  json latest = latest_with(server.http_port(), meter, "grid_power");
  CHECK(latest["metrics"]["grid_power"]["value"].get<double>() == doctest::Approx(1054.6));
  CHECK(latest["metrics"]["grid_import_energy_total"]["value"].get<double>() == doctest::Approx(24.9821).epsilon(1e-6));
  CHECK(latest["metrics"]["power_l1"]["value"].get<double>() == doctest::Approx(344.3));
  CHECK(latest["metrics"]["cos_phi"]["value"].get<double>() == doctest::Approx(0.966));
  const json device = get_json(server.http_port(), meter);
  CHECK(device["model"] == "SMA Energy Meter 2.0");
  CHECK(device["firmware"] == "2.0.18.R");
  CHECK(device["online"] == true);

  // The same meter with lower counters: power is stored, the counters are not, an event says so.
  std::this_thread::sleep_for(350ms);
  send_udp(server.sma_meter_port(), sma_fixture("emeter_6069_mlasch_pkt1.bin"));
  REQUIRE(eventually([&] { return has_event(server.http_port(), meter, "counter_decreased"); }, 5s));
  latest = get_json(server.http_port(), meter + "/latest");
  CHECK(latest["metrics"]["grid_power"]["value"] == 0.0);
  CHECK(latest["metrics"]["grid_import_energy_total"]["value"].get<double>() == doctest::Approx(24.9821).epsilon(1e-6));
  CHECK(server.sma_counters().meter_stored.value() == 2);

  // A burst within one interval: one sample.
  for (int i = 0; i < 5; ++i) send_udp(server.sma_meter_port(), sma_fixture("shm2_6081_danieltwagner_first.bin"));
  const std::string manager = "/api/v1/devices/sma:3008817151";
  latest = latest_with(server.http_port(), manager, "grid_frequency");
  CHECK(latest["metrics"]["grid_power"]["value"].get<double>() == doctest::Approx(-6994.5));
  CHECK(latest["metrics"]["grid_frequency"]["value"].get<double>() == doctest::Approx(50.017));
  CHECK(latest["metrics"]["grid_export_energy_total"]["value"].get<double>() == doctest::Approx(14829.6958).epsilon(1e-6));
  CHECK(get_json(server.http_port(), manager)["model"] == "SMA Sunny Home Manager 2.0");
  REQUIRE(eventually([&] { return server.sma_counters().meter_thinned.value() == 4; }, 2s));
  CHECK(server.sma_counters().meter_stored.value() == 3);

  // Inverter traffic and junk on the meter port are counted and dropped; the listener goes on.
  send_udp(server.sma_meter_port(), sma_fixture("lsw_query_spot_ac_power_req.bin"));
  const std::vector<std::uint8_t> junk{1, 2, 3, 4, 5};
  send_udp(server.sma_meter_port(), junk);
  REQUIRE(eventually([&] { return server.sma_counters().other_protocol.value() == 1 && server.sma_counters().malformed.value() == 1; }, 2s));
  std::this_thread::sleep_for(350ms);
  send_udp(server.sma_meter_port(), sma_fixture("shm2_6081_danieltwagner_last.bin"));
  REQUIRE(eventually([&] { return server.sma_counters().meter_stored.value() == 4; }, 2s));
}

TEST_CASE("sma: a meter counter lower than the one stored before a restart is held back") {
  TempDir dir;
  const std::string meter = "/api/v1/devices/sma:1901429669";
  {
    TestServer server(dir, [](config::Config& c) { listen_for_meters(c, 300ms); });
    send_udp(server.sma_meter_port(), sma_fixture("emeter_6069_mlasch_pkt0.bin"));
    latest_with(server.http_port(), meter, "grid_import_energy_total");
  }
  TestServer again(dir, [](config::Config& c) { listen_for_meters(c, 300ms); });
  send_udp(again.sma_meter_port(), sma_fixture("emeter_6069_mlasch_pkt1.bin"));
  REQUIRE(eventually([&] { return has_event(again.http_port(), meter, "counter_decreased"); }, 5s));
  const json latest = get_json(again.http_port(), meter + "/latest");
  CHECK(latest["metrics"]["grid_import_energy_total"]["value"].get<double>() == doctest::Approx(24.9821).epsilon(1e-6));
}

TEST_CASE("sma: sunkeep's bus serial is made once and kept across restarts") {
  FakeSmaInverter inverter;
  TempDir dir;
  const auto first_serial = [&] {
    return inverter.with([](SimulatedInverter& d) {
      const auto p = sma::parse_inverter_packet(d.received.back());
      return p ? p->source.serial : 0U;
    });
  };
  std::uint32_t before = 0;
  {
    TestServer server(dir, [&](config::Config& c) { poll_inverter(c, inverter.port()); });
    REQUIRE(eventually([&] { return server.sma_counters().polls_answered.value() >= 1; }, 10s));
    before = first_serial();
  }
  CHECK(before >= 900000000U);
  CHECK(before <= 999999999U);
  TestServer again(dir, [&](config::Config& c) { poll_inverter(c, inverter.port()); });
  REQUIRE(eventually([&] { return again.sma_counters().polls_answered.value() >= 1; }, 10s));
  CHECK(first_serial() == before);
}
