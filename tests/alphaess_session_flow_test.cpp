// The seed session of alphaess.md §4 replayed by a simulated device in Australia/Sydney time,
// including Resume and CSV backfill after a gap (§5.5), and the cases where no Resume is sent.
#include "common/time_zone.hpp"
#include "protocol/alphaess/device_time.hpp"
#include "protocol/alphaess/observation.hpp"
#include "server/clock.hpp"
#include "storage/schema.hpp"
#include "storage/store.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* zone_name = "Australia/Sydney";
constexpr const char* serial = "AL2002321010123";

// Whole seconds, as device clocks are.
UtcMillis whole_seconds(UtcMillis t) { return t / 1000 * 1000; }

std::string device_time_at(const TimeZone& zone, UtcMillis utc) { return zone.to_local(utc).to_device_string(); }

// Writes what an earlier connection would have left: the device, one realtime record at
// `last_utc`, and a clock offset sample of zero (the device clock is right).
void seed_history(const TempDir& dir, const TimeZone& zone, UtcMillis last_utc) {
  storage::Connection db(dir.file("sunkeep.db"));
  storage::configure_durable(db);
  storage::migrate(db);
  storage::Store store(db);
  const auto device = store.upsert_device(alphaess::vendor_name, serial, last_utc, "127.0.0.1:1");
  store.insert_record({.device = device, .kind = 1, .device_time = device_time_at(zone, last_utc), .utc = last_utc,
                       .received = last_utc, .frame = 0, .fields_hash = 0, .samples = {}});
  store.add_clock_sample(device, 0);
  store.flush_device_state();
}

std::string push_at(const TimeZone& zone, UtcMillis utc) {
  return R"({"Time":")" + device_time_at(zone, utc) + R"(","SN":")" + serial +
         R"(","Ppv1":"1029","Ppv2":"981","PrealL1":"-310","PrealL2":"0","PrealL3":"0","PmeterL1":"0",)"
         R"("PmeterL2":"0","PmeterL3":"0","PmeterDC":"951","Pbat":"-2187.8480","Sva":"1","VarAC":"0","VarDC":"0","SOC":"26.0"})";
}

const std::string csv_header = test::fixture("alphaess/tidalvirus_1-1-12_history.csv").substr(
    0, test::fixture("alphaess/tidalvirus_1-1-12_history.csv").find('\n'));

// One CSV row of the fixture's shape with this serial and time.
std::string csv_row(const TimeZone& zone, UtcMillis utc) {
  const std::string local = device_time_at(zone, utc);
  return local.substr(0, 10) + "," + local.substr(11) + "," + serial +
         ",1029,981,278.2,288.8,249.3,0.0,0.0,50.02,387,-310,0,0,33,5000,2353,0,3,431.6,60.00,128.40,143.2,0,0,0,"
         "951,-2187.8480,26.0,50.18,-43.60,257,1,5050,5050,3,1,17042704,17501462,16908309,16908309,0,0,0,0,0,0,0,0,"
         "0,-43.00,0.00,0.00,0.00,0.00,0.00,26.0,0.0,0.0,0.0,0.0,0.0,0,0,0,0,0,0,2.9,138.6,Normal,0,51.10,0,0,0,0,0,0,0,0";
}


nlohmann::json expect_resume(FakeDevice& device) {
  const auto frame = device.receive();
  REQUIRE_MESSAGE(frame.has_value(), "no Resume arrived");
  CHECK(frame->f2() == 1);
  CHECK(frame->command() == 8);
  return nlohmann::ordered_json::parse(frame->payload());
}

void check_cmd_index(const nlohmann::json& resume, UtcMillis before, UtcMillis after) {
  const std::string index = resume["CmdIndex"];
  CHECK(index.find_first_not_of("0123456789") == std::string::npos);
  CHECK((index == "0" || index.front() != '0'));
  const auto value = std::stoll(index);
  const auto lo = before % 86'400'000;
  const auto hi = after % 86'400'000;
  CHECK(((lo <= hi) ? (value >= lo && value <= hi) : (value >= lo || value <= hi)));
}

}  // namespace

TEST_CASE("session: the seed session with Resume and CSV backfill after a 21-minute gap") {
  const TimeZone zone(zone_name);
  TempDir dir;
  const UtcMillis start = whole_seconds(server::now_ms());
  const UtcMillis last_utc = start - (21 * 60 + 37) * 1000;
  seed_history(dir, zone, last_utc);
  TestServer server(dir, [](config::Config& c) { c.alphaess.timezone = zone_name; });
  FakeDevice device(server.port());

  // 1-3: login, command 0, EventLog.
  check_ack(device.exchange(2, std::string(R"({"UserName":")") + serial + R"(","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  check_ack(device.exchange(0, ""), 0);
  const UtcMillis before = server::now_ms();
  check_ack(device.exchange(9, test::json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json")), 9);

  // 4: Resume right after the EventLog ack, from T_last, with the gap in whole minutes.
  const auto resume = expect_resume(device);
  const UtcMillis after = server::now_ms();
  CHECK(resume.size() == 4);
  CHECK(resume.begin().key() == "CmdIndex");
  CHECK(resume["Command"] == "Resume");
  CHECK(resume["Parameter1"] == device_time_at(zone, last_utc));
  CHECK(resume["Parameter2"] == "21");
  check_cmd_index(resume, before, after);

  // 5: the device's answer is stored, never answered.
  device.send(2, 8, R"({"Command":"Resume","CmdIndex":")" + resume["CmdIndex"].get<std::string>() + R"(","Status":"Success"})");

  // 6: 20 minute rows in 7 packets (3+3+3+3+3+3+2), each acked before the next.
  std::vector<UtcMillis> rows;
  for (int i = 0; i < 20; ++i) rows.push_back(last_utc + 46'000 + i * 60'000);
  for (std::size_t at = 0; at < rows.size(); at += 3) {
    std::string packet = csv_header;
    for (std::size_t r = at; r < std::min(at + 3, rows.size()); ++r) packet += "\n" + csv_row(zone, rows[r]);
    check_ack(device.exchange(12, packet), 12);  // the first reply after the 1,2,8 is this ack
  }

  // 7-10: serial query, pushes, config upload, five-minute record.
  const auto reply3 = device.exchange(3, std::string(R"({"SN":")") + serial + R"("})");
  REQUIRE(reply3);
  CHECK(reply3->payload() == R"({"Status":"Success"})");
  check_ack(device.exchange(16, push_at(zone, start)), 16);
  check_ack(device.exchange(16, push_at(zone, start + 10'000)), 16);
  check_ack(device.exchange(4, test::json_fixture("alphaess/tidalvirus_1-1-4_config_upload.json")), 4);
  const UtcMillis last_sent = server::now_ms();
  check_ack(device.exchange(16, push_at(zone, start + 20'000)), 16);
  const UtcMillis last_acked = server::now_ms();
  CHECK(device.nothing_received());  // one Resume per connection, no other command
  device.close();
  server.stop();

  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record WHERE kind = 3") == 20);
  CHECK(count(*db, "SELECT count(*) FROM record WHERE kind = 1") == 4);  // 3 live + the seeded one
  // Every minute row is stored at the UTC instant its Sydney wall-clock time stands for.
  auto stored = db->prepare("SELECT utc_ms FROM record WHERE kind = 3 ORDER BY utc_ms");
  for (UtcMillis expected : rows) {
    REQUIRE(stored.step());
    CHECK(stored.int64(0) == expected);
  }
  CHECK(count(*db, "SELECT count(*) FROM device_command WHERE command = 'Resume' AND status = 'Success' "
                   "AND answered_ms IS NOT NULL AND sent_ms IS NOT NULL") == 1);
  CHECK(count(*db, "SELECT count(*) FROM event WHERE source = 'EventLog'") == 16);
  CHECK(text(*db, "SELECT personal_keys FROM config_snapshot") == R"(["Address","ZipCode","PhoneNumber","License"])");
  CHECK(text(*db, "SELECT model FROM device WHERE serial = 'AL2002321010123'") == "Storion-GINLANG-S5");
  // The clock offset is the largest sample: the last push's device time minus its receive time.
  const auto offset = count(*db, "SELECT clock_offset_ms FROM device");
  CHECK(offset <= start + 20'000 - last_sent);
  CHECK(offset >= start + 20'000 - last_acked);
  CHECK(server.counters().resumes_sent.value() == 1);
}

TEST_CASE("session: a reconnect without login gets Resume right after its first push") {
  const TimeZone zone(zone_name);
  TempDir dir;
  const UtcMillis now = whole_seconds(server::now_ms());
  const UtcMillis last_utc = now - 10 * 60'000 - 5'000;
  seed_history(dir, zone, last_utc);
  TestServer server(dir, [](config::Config& c) { c.alphaess.timezone = zone_name; });
  FakeDevice device(server.port());
  check_ack(device.exchange(16, push_at(zone, now)), 16);
  const auto resume = expect_resume(device);
  CHECK(resume["Parameter1"] == device_time_at(zone, last_utc));
  CHECK(resume["Parameter2"] == "10");
  check_ack(device.exchange(16, push_at(zone, now + 10'000)), 16);
  CHECK(device.nothing_received());
}

TEST_CASE("session: no Resume without history / inside the minimum gap / past the maximum age / or when disabled") {
  const TimeZone zone(zone_name);
  const UtcMillis now = whole_seconds(server::now_ms());
  struct Case {
    const char* name;
    std::optional<UtcMillis> last;
    bool backfill;
  };
  const std::vector<Case> cases{
      {"no stored history", std::nullopt, true},
      {"gap under backfill_min_gap", now - 60'000, true},
      {"gap over backfill_max_age", now - 8 * 24 * 3600'000LL, true},
      {"backfill = false", now - 30 * 60'000, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    TempDir dir;
    if (c.last) seed_history(dir, zone, *c.last);
    TestServer server(dir, [&](config::Config& cfg) {
      cfg.alphaess.timezone = zone_name;
      cfg.alphaess.backfill = c.backfill;
    });
    FakeDevice device(server.port());
    check_ack(device.exchange(2, std::string(R"({"UserName":")") + serial + R"(","Password":"pw"})"), 2);
    check_ack(device.exchange(9, test::json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json")), 9);
    CHECK(device.nothing_received());
    CHECK(server.counters().resumes_sent.value() == 0);
  }
}
