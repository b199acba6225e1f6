// APsystems end to end (apsystems-ecu.md §11): a simulated ECU on a loopback TCP port, strict about
// its connection rules, polled by the real server; the ECU and its inverters read back over the
// HTTP API with their parent, canonical values and signal strength; a locked-up ECU reported,
// backed off and recovered; a malformed reply archived and reported without harm.
#include "tests/support/device_api.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_ecu.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string ecu_path = "/api/v1/devices/apsystems:216300090693";
const std::string inverter_path = "/api/v1/devices/apsystems:707000017197";

void poll_ecu(config::Config& c, std::uint16_t port, const std::string& ecu_id = "") {
  c.apsystems.enabled = true;
  c.apsystems.poll_interval = 600ms;
  c.apsystems.command_pause = 60ms;
  c.apsystems.connect_timeout = 300ms;
  c.apsystems.read_timeout = 300ms;
  c.apsystems.retries = 1;
  c.apsystems.ecus = {config::ApsystemsEcu{.host = "127.0.0.1", .port = port, .ecu_id = ecu_id}};
}

json get_json(std::uint16_t port, const std::string& path) {
  const HttpReply r = http_get(port, path);
  REQUIRE_MESSAGE(r.status == 200, path << ": " << r.status);
  return json::parse(r.body);
}

// Waits (bounded) until `path`'s latest values hold `metric` and `accept` likes them.
json latest_where(std::uint16_t port, const std::string& path, const std::function<bool(const json&)>& accept) {
  json latest;
  const bool seen = eventually(
      [&] {
        const HttpReply r = http_get(port, path + "/latest");
        if (r.status != 200) return false;
        latest = json::parse(r.body)["metrics"];
        return accept(latest);
      },
      10s);
  REQUIRE_MESSAGE(seen, "the expected values never appeared at " << path << ": " << latest.dump());
  return latest;
}

}  // namespace

TEST_CASE("apsystems: a strict ECU is polled without breaking its rules, ECU and inverters come back over HTTP") {
  EcuBehaviour behaviour = typical_ecu();
  behaviour.min_pause = 40ms;  // a little below command_pause: the fake notices a close late
  behaviour.chunk = 16;        // replies arrive in pieces
  FakeEcu ecu(behaviour);
  TestServer server([&](config::Config& c) { poll_ecu(c, ecu.port()); });
  const auto port = server.http_port();

  const json ecu_values = latest_where(port, ecu_path, [](const json& m) { return m.contains("pv_energy_total"); });
  CHECK(ecu_values["pv_power"]["value"] == 836.0);
  CHECK(ecu_values["pv_energy_total"]["value"].get<double>() == doctest::Approx(115.0));
  CHECK(ecu_values["pv_energy_today"]["value"].get<double>() == doctest::Approx(3.43));
  CHECK(ecu_values["inverters_online"]["value"] == 2.0);
  const json ecu_device = get_json(port, ecu_path);
  CHECK(ecu_device["model"] == "ECU-B");
  CHECK(ecu_device["firmware"] == "ECU_B_1.2.26E");
  CHECK(ecu_device["online"] == true);
  CHECK(ecu_device["parent"].is_null());

  // The second 0002 (a new ECU timestamp) replaces the first one's values.
  const json inverter = latest_where(port, inverter_path, [](const json& m) {
    return m.contains("signal_strength") && m.contains("pv_power") && m["pv_power"]["value"] == 131.0;
  });
  CHECK(inverter["power_1"]["value"] == 73.0);
  CHECK(inverter["grid_frequency"]["value"].get<double>() == doctest::Approx(49.9));
  CHECK(inverter["inverter_temperature"]["value"] == 39.0);
  CHECK(inverter["signal_strength"]["value"].get<double>() == doctest::Approx(82.745).epsilon(0.0001));
  CHECK(inverter["signal_strength"]["unit"] == "%");
  const json inverter_device = get_json(port, inverter_path);
  CHECK(inverter_device["parent"] == "apsystems:216300090693");
  CHECK(inverter_device["model"] == "DS3 (type 01)");
  CHECK(inverter_device["online"] == true);
  CHECK(get_json(port, "/api/v1/devices/apsystems:702000337185")["parent"] == "apsystems:216300090693");
  const std::string metrics = http_get(port, "/metrics").body;
  CHECK(metrics.find("sunkeep_signal_strength_ratio{device=\"apsystems:707000017197\"") != std::string::npos);
  CHECK(metrics.find("parent=\"apsystems:216300090693\"") != std::string::npos);
  CHECK(metrics.find("sunkeep_pv_energy_joules_total{device=\"apsystems:216300090693\"") != std::string::npos);

  // Several cycles later: only the three requests, in order, one connection each, no rule broken.
  REQUIRE(ecu.wait_for_requests(12, 10s));
  // The exchanges are archived under the ECU, commands as numbers.
  const json frames = get_json(port, ecu_path + "/frames?limit=12");
  std::set<int> commands;
  for (const auto& f : frames["frames"]) commands.insert(f["command"].get<int>());
  CHECK(commands == std::set<int>{1, 2, 30});
  server.stop();
  CHECK(ecu.violations().empty());
  CHECK(ecu.max_open_connections() == 1);
  const auto codes = ecu.command_codes();
  for (std::size_t i = 0; i < codes.size(); ++i) {
    CHECK(codes[i] == std::vector<std::string>{"0001", "0002", "0030"}[i % 3]);
  }
  CHECK(ecu.connections() == codes.size());
  const auto sent = ecu.requests();
  const std::set<std::string> requests(sent.begin(), sent.end());
  CHECK(requests == std::set<std::string>{"APS1100160001END\n", "APS1100280002216300090693END\n",
                                          "APS1100280030216300090693END\n"});
}

TEST_CASE("apsystems: an ECU that locks up goes offline with its inverters and an event, and recovers") {
  FakeEcu ecu;
  TestServer server([&](config::Config& c) {
    poll_ecu(c, ecu.port());
    c.apsystems.poll_interval = 300ms;
    c.apsystems.retries = 0;
  });
  const auto port = server.http_port();
  latest_where(port, inverter_path, [](const json& m) { return m.contains("signal_strength"); });
  CHECK(get_json(port, ecu_path)["online"] == true);
  CHECK(get_json(port, inverter_path)["online"] == true);

  ecu.set_locked_up(true);
  REQUIRE(eventually([&] { return has_event(port, ecu_path, "ecu_unreachable"); }, 10s));
  CHECK(get_json(port, ecu_path)["online"] == false);
  CHECK(get_json(port, inverter_path)["online"] == false);
  CHECK(get_json(port, ecu_path + "/events").dump().find("power cycle") != std::string::npos);

  ecu.set_locked_up(false);
  REQUIRE(eventually([&] { return get_json(port, ecu_path)["online"] == true; }, 10s));
  REQUIRE(eventually([&] { return get_json(port, inverter_path)["online"] == true; }, 10s));
  CHECK(ecu.violations().empty());
}

TEST_CASE("apsystems: two ECUs are polled in parallel, each over one connection at a time") {
  EcuBehaviour second = typical_ecu();
  second.replies["0001"] = {FakeEcu::from_fixture("mihol_ecub_systeminfo.bin")};
  second.replies["0002"] = {FakeEcu::from_fixture("mihol_ds3_realtime.bin")};
  FakeEcu one;
  FakeEcu two(second);
  TestServer server([&](config::Config& c) {
    poll_ecu(c, one.port());
    c.apsystems.ecus.push_back(config::ApsystemsEcu{.host = "127.0.0.1", .port = two.port()});
  });
  const auto port = server.http_port();
  latest_where(port, ecu_path, [](const json& m) { return m.contains("pv_power"); });
  const json mihol = latest_where(port, "/api/v1/devices/apsystems:216300007004", [](const json& m) { return m.contains("pv_power"); });
  CHECK(mihol["pv_power"]["value"] == 425.0);
  const json inverter = latest_where(port, "/api/v1/devices/apsystems:702000999999", [](const json& m) { return m.contains("pv_power"); });
  CHECK(inverter["pv_power"]["value"] == 425.0);
  CHECK(get_json(port, "/api/v1/devices/apsystems:702000999999")["parent"] == "apsystems:216300007004");
  REQUIRE(one.wait_for_requests(6, 10s));
  REQUIRE(two.wait_for_requests(6, 10s));
  server.stop();
  CHECK(one.violations().empty());
  CHECK(two.violations().empty());
  CHECK(one.max_open_connections() == 1);
  CHECK(two.max_open_connections() == 1);
}

TEST_CASE("apsystems: a malformed reply is archived and reported, the ECU is polled on") {
  EcuBehaviour behaviour = typical_ecu();
  std::vector<std::uint8_t> broken = FakeEcu::from_fixture("openhab_ds3_realtime_20230727.bin");
  broken[broken.size() - 3] = 'X';  // "EXD\n"
  behaviour.replies["0002"] = {broken};
  FakeEcu ecu(behaviour);
  TestServer server([&](config::Config& c) { poll_ecu(c, ecu.port()); });
  const auto port = server.http_port();
  REQUIRE(eventually([&] { return has_event(port, ecu_path, "malformed_reply"); }, 10s));
  const std::string metrics = http_get(port, "/metrics").body;
  CHECK(metrics.find("sunkeep_polls_total{listener=\"apsystems\",result=\"malformed\"} 0") == std::string::npos);
  CHECK(metrics.find("sunkeep_polls_total{listener=\"apsystems\",result=\"malformed\"}") != std::string::npos);
  const json values = latest_where(port, ecu_path, [](const json& m) { return m.contains("pv_power"); });
  CHECK(values["pv_power"]["value"] == 836.0);
  CHECK(http_get(port, inverter_path).status == 404);
  const json frames = get_json(port, ecu_path + "/frames?limit=50");
  bool archived = false;
  for (const auto& f : frames["frames"]) archived = archived || (f["command"] == 2 && f["direction"] == "in");
  CHECK(archived);
}
