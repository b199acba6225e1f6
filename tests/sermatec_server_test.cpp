// Sermatec end to end (sermatec.md §6): simulated inverters connecting to the cloud port or
// listening for local mode; identification, the poll cycle, multi-frame answers, junk, split
// and late answers, RC4, the Wi-Fi password, and the values read back through the HTTP API.
#include "protocol/sermatec/queries.hpp"
#include "protocol/sermatec/rc4.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string serial = "ST" + std::string(24, '1');
const std::string device_path = "/api/v1/devices/sermatec:" + serial;

// Fast timings so cycles, timeouts and reconnects happen within a test.
drivers::SermatecTiming fast() {
  drivers::SermatecTiming t;
  t.answer_timeout = 1000ms;
  t.connect_timeout = 1000ms;
  t.backoff_first = 50ms;
  t.backoff_max = 200ms;
  return t;
}

void enable_sermatec(config::Config& c, std::chrono::milliseconds poll = 60s) {
  c.sermatec.enabled = true;
  c.sermatec.poll_interval = poll;
}

// Waits (bounded) until the API's latest values hold `metric`, then returns them.
json latest_with(std::uint16_t http_port, const std::string& path, const std::string& metric) {
  json latest;
  for (int i = 0; i < 200; ++i) {
    const HttpReply r = http_get(http_port, path + "/latest");
    if (r.status == 200) {
      latest = json::parse(r.body);
      if (latest["metrics"].contains(metric)) return latest;
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL("metric " << metric << " never appeared at " << path);
  return latest;
}

void check_only_read_only_queries(const FakeInverter& inverter) {
  for (const auto& frame : inverter.received()) {
    const auto query = sermatec::build_query(frame[4]);
    REQUIRE(query);
    CHECK(frame == query->plain());
  }
}

const std::vector<std::uint8_t> cycle_at_411{0x0C, 0x0A, 0x0B, 0x0D, 0x1E, 0x1F, 0x99, 0x95};

}  // namespace

TEST_CASE("sermatec: an inverter on the cloud port is identified, polled and readable over HTTP") {
  TestServer server([](config::Config& c) { enable_sermatec(c); }, fast());
  InverterBehaviour behaviour = typical_inverter();
  behaviour.chunk = 3;                 // answers arrive in small pieces
  behaviour.junk_between_frames = true;
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  const json latest = latest_with(server.http_port(), device_path, "set2_meter_detection");  // the last answer of a cycle
  const json& m = latest["metrics"];
  CHECK(m["grid_power"]["value"] == 50.0);
  CHECK(m["pv_power"]["value"] == 170.0);
  CHECK(m["battery_power"]["value"] == 872.0);
  CHECK(m["battery_soc"] == json({{"value", 21.0}, {"unit", "%"}, {"time", m["battery_soc"]["time"]}}));
  CHECK(m["battery_voltage"]["value"] == 484.4);
  CHECK(m["grid_frequency"]["value"] == 49.98);
  CHECK(m["inverter_temperature"]["value"] == 43.7);
  CHECK(m["pv_energy_today"]["value"] == 12.3);
  CHECK(m["cab_pv1_power"]["value"] == 69.0);
  CHECK(m["set2_meter_detection"]["value"] == 1.0);  // from the 0x9D that follows 0x95
  CHECK(m["sys_protocol_version"]["value"] == 411.0);

  const json device = json::parse(http_get(server.http_port(), device_path).body);
  CHECK(device["model"] == "10 kW");
  CHECK(device["firmware"] == "411");
  CHECK(device["online"] == true);
  CHECK(device["clock_offset_s"].is_null());

  // 0x98 first, then the PCU-411 cycle in order, one query each.
  REQUIRE(inverter->wait_for_queries(1 + cycle_at_411.size()));
  auto codes = inverter->query_codes();
  codes.resize(1 + cycle_at_411.size());
  std::vector<std::uint8_t> expected{0x98};
  expected.insert(expected.end(), cycle_at_411.begin(), cycle_at_411.end());
  CHECK(codes == expected);
  check_only_read_only_queries(*inverter);
  CHECK(server.sermatec_counters().junk_bytes.value() > 0);
  CHECK(server.sermatec_counters().answer_timeouts.value() == 0);

  // Every frame both ways is archived: 9 queries out; the 0x98 and 12 answer frames in (99 → 4, 95 → 2).
  server.stop();
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 1") >= 9);
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 0") >= 13);
}

TEST_CASE("sermatec: cycles repeat start to start and a late answer does not complete the next query") {
  TestServer server([](config::Config& c) { enable_sermatec(c, 2000ms); }, fast());
  InverterBehaviour behaviour = typical_inverter();
  behaviour.delays[0x0B] = 1500ms;  // past the 1 s answer timeout
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  REQUIRE(inverter->wait_for_queries(1 + 2 * cycle_at_411.size(), 15s));
  const auto codes = inverter->query_codes();
  // The second cycle repeats the list exactly; no query is retried within a cycle.
  CHECK(std::vector<std::uint8_t>(codes.begin() + 1, codes.begin() + 9) == cycle_at_411);
  CHECK(std::vector<std::uint8_t>(codes.begin() + 9, codes.begin() + 17) == cycle_at_411);
  CHECK(server.sermatec_counters().answer_timeouts.value() >= 1);
  CHECK(server.sermatec_counters().unexpected_frames.value() >= 1);  // the late 0x0B
  check_only_read_only_queries(*inverter);
}

TEST_CASE("sermatec: local mode polls an inverter listening on loopback and reconnects") {
  auto inverter = FakeInverter::listen(typical_inverter());
  TestServer server([&](config::Config& c) {
    enable_sermatec(c);
    c.sermatec.inverters.push_back({"127.0.0.1", inverter->port()});
  }, fast());
  latest_with(server.http_port(), device_path, "battery_power");
  CHECK(inverter->connections() == 1);
  inverter->drop_connection();
  for (int i = 0; i < 100 && inverter->connections() < 2; ++i) std::this_thread::sleep_for(50ms);
  CHECK(inverter->connections() == 2);  // reconnected with backoff
  check_only_read_only_queries(*inverter);
}

TEST_CASE("sermatec: an inverter that only speaks RC4 is identified and then queried in RC4") {
  TestServer server([](config::Config& c) { enable_sermatec(c); }, fast());
  InverterBehaviour behaviour = typical_inverter();
  behaviour.rc4_only = true;
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  latest_with(server.http_port(), device_path, "battery_soc");
  // Plain 0x98 first (ignored), then RC4 0x98, then the cycle in RC4.
  REQUIRE(inverter->wait_for_queries(3));
  CHECK(inverter->query_codes()[0] == 0x98);
  CHECK(inverter->rc4_queries() >= 2);
  CHECK(inverter->plain_queries() == 1);
}

TEST_CASE("sermatec: a 0x98 answer with a bad checksum never identifies, and nothing else is asked") {
  TestServer server([](config::Config& c) { enable_sermatec(c, 1s); }, fast());
  InverterBehaviour behaviour;
  const std::string raw = fixture("sermatec/dumps/resp_98_serial_anonymized_bad_checksum.bin");
  behaviour.answers[0x98] = {std::vector<std::uint8_t>(raw.begin(), raw.end())};
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  REQUIRE(inverter->wait_for_queries(4, 10s));  // plain, RC4, then again after a poll interval
  for (auto code : inverter->query_codes()) CHECK(code == 0x98);
  CHECK(server.sermatec_counters().bad_checksum.value() >= 1);
  CHECK(server.sermatec_counters().identified.value() == 0);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM device") == 0);
}

TEST_CASE("sermatec: PCU versions select the poll list and the layouts") {
  SUBCASE("252: no 0x0D") {
    TestServer server([](config::Config& c) { enable_sermatec(c); }, fast());
    auto inverter = FakeInverter::connect_to(server.sermatec_port(), typical_inverter("SM252", 252));
    REQUIRE(inverter->wait_for_queries(8));
    const auto codes = inverter->query_codes();
    CHECK(std::vector<std::uint8_t>(codes.begin(), codes.begin() + 8) ==
          std::vector<std::uint8_t>{0x98, 0x0C, 0x0A, 0x0B, 0x1E, 0x1F, 0x99, 0x95});
  }
  SUBCASE("603: the 140-byte 0x0B decodes its parallel totals; A1, A2 on request") {
    TestServer server([](config::Config& c) {
      enable_sermatec(c);
      c.sermatec.query_drm = true;
      c.sermatec.query_forced_charge = true;
    }, fast());
    auto inverter = FakeInverter::connect_to(server.sermatec_port(), typical_inverter("SM603", 603));
    const json latest = latest_with(server.http_port(), "/api/v1/devices/sermatec:SM603", "cab_par_pv_power");
    CHECK(latest["metrics"]["cab_par_pv_power"]["value"] == 0.17);
    CHECK(latest["metrics"]["cab_par_pv_power"]["unit"] == "kW");
    REQUIRE(inverter->wait_for_queries(11));
    const auto codes = inverter->query_codes();
    CHECK(codes[9] == 0xA1);
    CHECK(codes[10] == 0xA2);
  }
}

TEST_CASE("sermatec: 0x98 is asked again at the start of the first cycle after the identity refresh") {
  drivers::SermatecTiming timing = fast();
  timing.identity_refresh = 1500ms;
  TestServer server([](config::Config& c) { enable_sermatec(c, 1000ms); }, timing);
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), typical_inverter());
  REQUIRE(inverter->wait_for_queries(1 + 3 * cycle_at_411.size() + 1, 15s));
  const auto codes = inverter->query_codes();
  // 0x98 first, then only at a cycle start (right before 0x0C), never inside a cycle.
  CHECK(codes[0] == 0x98);
  int refreshes = 0;
  for (std::size_t i = 1; i < codes.size(); ++i) {
    if (codes[i] != 0x98) continue;
    ++refreshes;
    if (i + 1 < codes.size()) CHECK(codes[i + 1] == 0x0C);  // the snapshot may end right after it
  }
  CHECK(refreshes >= 1);
  CHECK(server.sermatec_counters().identified.value() == 1);  // the same serial keeps its binding
}

TEST_CASE("sermatec: a new serial in the hourly 0x98 starts identification afresh") {
  drivers::SermatecTiming timing = fast();
  timing.identity_refresh = 1000ms;
  TestServer server([](config::Config& c) { enable_sermatec(c, 1000ms); }, timing);
  InverterBehaviour behaviour = typical_inverter();
  behaviour.later_answers[0x98] = {1, {identity_answer(603, 1, "SMNEWSERIAL")}};  // swapped module
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  latest_with(server.http_port(), "/api/v1/devices/sermatec:SMNEWSERIAL", "battery_soc");
  CHECK(server.sermatec_counters().identified.value() == 2);
  const json devices = json::parse(http_get(server.http_port(), "/api/v1/devices").body);
  CHECK(devices.size() == 2);
  const json fresh = json::parse(http_get(server.http_port(), "/api/v1/devices/sermatec:SMNEWSERIAL").body);
  CHECK(fresh["firmware"] == "603");
  CHECK(fresh["online"] == true);
  check_only_read_only_queries(*inverter);
}

TEST_CASE("sermatec: a raised fault bit shows as an event in the API") {
  TestServer server([](config::Config& c) { enable_sermatec(c); }, fast());
  InverterBehaviour behaviour = typical_inverter();
  std::vector<std::uint8_t> faults(12, 0);
  faults[9] = 0x04;  // word 4 bit 2 → code 67, IGBT A over-temperature
  behaviour.answers[0x1F] = {answer_frame(0x1F, faults)};
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
  latest_with(server.http_port(), device_path, "fault_word_4");
  const json events = json::parse(http_get(server.http_port(), device_path + "/events").body);
  REQUIRE(events["events"].size() == 1);
  CHECK(events["events"][0]["source"] == "sermatec_fault");
  CHECK(events["events"][0]["code"] == "67");
  CHECK(events["events"][0]["text"].get<std::string>().rfind("IGBT A over-temperature", 0) == 0);
}

TEST_CASE("sermatec: the Wi-Fi password of a B1 answer is never stored, logged or returned") {
  const std::string password = "Pa55-w0rd-wifi!";
  TempDir dir;
  {
    TestServer server(dir, [](config::Config& c) {
      enable_sermatec(c);
      c.sermatec.query_network = true;
    }, fast());
    InverterBehaviour behaviour = typical_inverter("SM609", 609);
    std::vector<std::uint8_t> payload(91, 0);
    const std::string ssid = "HomeNet";
    std::copy(ssid.begin(), ssid.end(), payload.begin() + 1);
    std::copy(password.begin(), password.end(), payload.begin() + 31);
    behaviour.answers[0xB1] = {answer_frame(0xB1, payload)};
    auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
    REQUIRE(inverter->wait_for_queries(10));
    std::this_thread::sleep_for(300ms);
    std::string bodies;
    for (const std::string path : {"/latest", "/frames?limit=1000", "/events"}) {
      bodies += http_get(server.http_port(), "/api/v1/devices/sermatec:SM609" + path).body;
    }
    CHECK(bodies.find(password) == std::string::npos);
    CHECK(bodies.find("5061353500") == std::string::npos);  // nor its hex
    server.stop();
    auto db = server.read_db();
    CHECK(count(*db, "SELECT count(*) FROM frame WHERE command = 177 AND flags & 2 = 2") >= 1);
  }
  // Nothing in the database files holds it, in any form.
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(file.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    CHECK_MESSAGE(bytes.str().find(password) == std::string::npos, file.path());
    const auto wrapped = sermatec::rc4_apply(std::vector<std::uint8_t>(password.begin(), password.end()));
    CHECK(bytes.str().find(std::string(wrapped.begin(), wrapped.end())) == std::string::npos);
  }
}
