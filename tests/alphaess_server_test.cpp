// The AlphaESS listener as a device sees it: acks after commit, exact replies, batched and split
// frames, duplicates, reconnects without login, many devices at once (alphaess.md §5).
#include "protocol/alphaess/encoder.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::test;

namespace {

std::string push(const std::string& serial, const std::string& time, double pbat = 539.44) {
  return R"({"Time":")" + time + R"(","SN":")" + serial + R"(","Ppv1":"0","Ppv2":"0","PrealL1":"420","PrealL2":"0.0",)"
         R"("PrealL3":"0.0","PmeterL1":"-4","PmeterL2":"0","PmeterL3":"0","PmeterDC":"0","Pbat":")" +
         std::to_string(pbat) + R"(","Sva":"405","VarAC":"-669","VarDC":"96","SOC":"38.0"})";
}


}  // namespace

TEST_CASE("server: every device-initiated frame gets its Success ack / in order") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"AL1","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  check_ack(device.exchange(0, ""), 0);
  check_ack(device.exchange(9, test::json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json")), 9);
  check_ack(device.exchange(16, push("AL1", "2024/03/03 22:05:21")), 16);
  check_ack(device.exchange(4, test::json_fixture("alphaess/tidalvirus_1-1-4_config_upload.json")), 4);
  check_ack(device.exchange(5, test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd5_payload.json")), 5);
  check_ack(device.exchange(12, test::fixture("alphaess/tidalvirus_1-1-12_history.csv")), 12);
  check_ack(device.exchange(77, R"({"Future":"1"})"), 77);  // unknown command: archived, acked
  device.close();
  server.stop();
  CHECK(server.counters().unknown_commands.value() == 1);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 0") == 8);
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 1") == 8);
  CHECK(count(*db, "SELECT count(*) FROM event WHERE source = 'EventLog'") == 16);
  CHECK(count(*db, "SELECT count(*) FROM config_snapshot") == 1);
}

TEST_CASE("server: the command-3 reply is exactly Success / never configuration") {
  TestServer server;
  FakeDevice device(server.port());
  const auto reply = device.exchange(3, R"({"SN":"AL0123456789012"})");
  REQUIRE(reply);
  CHECK(reply->f2() == 2);
  CHECK(reply->command() == 3);
  CHECK(reply->payload() == R"({"Status":"Success"})");
}

TEST_CASE("server: several frames in one write and a frame split into single bytes") {
  TestServer server;
  FakeDevice device(server.port());
  device.send_bytes(FakeDevice::frame(1, 16, push("AL2", "2024/03/03 22:05:21")) +
                    FakeDevice::frame(1, 16, push("AL2", "2024/03/03 22:05:31")) +
                    FakeDevice::frame(1, 0, ""));
  check_ack(device.receive(), 16);
  check_ack(device.receive(), 16);
  check_ack(device.receive(), 0);
  const std::string split = FakeDevice::frame(1, 16, push("AL2", "2024/03/03 22:05:41"));
  for (char byte : split) device.send_bytes(std::string(1, byte));
  check_ack(device.receive(), 16);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record") == 3);
}

TEST_CASE("server: a duplicate record is acked and stored once - a changed one keeps the first") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(16, push("AL3", "2024/03/03 22:05:21", 100)), 16);
  check_ack(device.exchange(16, push("AL3", "2024/03/03 22:05:21", 100)), 16);
  check_ack(device.exchange(16, push("AL3", "2024/03/03 22:05:21", 999)), 16);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record") == 1);
  // The first is kept: its values are those of the frame the record points to.
  CHECK(text(*db, "SELECT f.raw FROM record r JOIN frame f ON f.id = r.frame_id").find(R"("Pbat":"100)") !=
        std::string::npos);
  const auto pbat = stored_samples(*db, "Pbat");
  REQUIRE(pbat.size() == 1);
  CHECK(pbat[0].value == 100);
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 0") == 3);  // the raw archive keeps all
  CHECK(server.counters().duplicate_records.value() == 1);
  CHECK(server.counters().conflicting_records.value() == 1);
}

TEST_CASE("server: a device reconnecting without login is served and identified by its SN") {
  TestServer server;
  {
    FakeDevice device(server.port());
    check_ack(device.exchange(2, R"({"UserName":"AL4","Password":"pw","CompanyName":"AlphaESS"})"), 2);
    check_ack(device.exchange(16, push("AL4", "2024/03/03 22:05:21")), 16);
  }
  FakeDevice again(server.port());
  check_ack(again.exchange(16, push("AL4", "2024/03/03 22:05:31")), 16);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM device") == 1);
  CHECK(count(*db, "SELECT count(*) FROM record r JOIN device d ON d.id = r.device_id WHERE d.serial = 'AL4'") == 2);
}

TEST_CASE("server: a frame before any serial is archived with the peer and no device") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(0, ""), 0);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE device_id IS NULL AND peer LIKE '127.0.0.1:%'") == 2);
}

TEST_CASE("server: a record for another SN is stored under that SN") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"AL5","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  check_ack(device.exchange(16, push("AL6", "2024/03/03 22:05:21")), 16);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record r JOIN device d ON d.id = r.device_id WHERE d.serial = 'AL6'") == 1);
  CHECK(server.counters().serial_mismatches.value() == 1);
}

TEST_CASE("server: the login password is never stored") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"AL7","Password":"correct horse","CompanyName":"AlphaESS"})"), 2);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE instr(raw, 'correct horse') > 0") == 0);
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE instr(raw, '\"Password\":\"***\"') > 0") == 1);
}

TEST_CASE("server: the five-minute fixture in Sydney time is stored with its UTC instant") {
  TestServer server([](config::Config& c) { c.alphaess.timezone = "Australia/Sydney"; });
  FakeDevice device(server.port());
  check_ack(device.exchange(5, test::json_fixture("alphaess/tidalvirus_1-1-5_5min_dump.json")), 5);
  auto db = server.read_db();
  CHECK(text(*db, "SELECT device_time FROM record") == "2021/03/24 10:02:40");
  CHECK(count(*db, "SELECT utc_ms FROM record") == 1616540560000);
  CHECK(stored_samples(*db, "pv_energy_total") == std::vector<storage::Point>{{1616540560000, 433.0}});
  CHECK(count(*db, "SELECT kind FROM record") == 2);
}

TEST_CASE("server: a new connection for a serial closes the older / half-open one") {
  TestServer server;
  FakeDevice old_link(server.port());
  check_ack(old_link.exchange(2, R"({"UserName":"AL8","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  FakeDevice new_link(server.port());
  check_ack(new_link.exchange(2, R"({"UserName":"AL8","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  CHECK(old_link.closed_by_server());
  check_ack(new_link.exchange(0, ""), 0);
}

TEST_CASE("server: a connection with no complete frame for idle_timeout is closed") {
  TestServer server([](config::Config& c) { c.alphaess.idle_timeout = std::chrono::milliseconds(300); });
  FakeDevice device(server.port());
  device.send_bytes(std::string("\x01\x01\x10\x00", 4));  // a stalled half frame counts as no frame
  CHECK(device.closed_by_server(5s));
  CHECK(server.counters().idle_timeouts.value() == 1);
}

TEST_CASE("server: 200 devices at once are all acked and stored") {
  TestServer server;
  constexpr std::size_t devices = 200;
  std::vector<std::unique_ptr<FakeDevice>> fleet;
  for (std::size_t i = 0; i < devices; ++i) fleet.push_back(std::make_unique<FakeDevice>(server.port()));
  for (std::size_t i = 0; i < devices; ++i) fleet[i]->send(1, 16, push("FLEET" + std::to_string(i), "2024/03/03 22:05:21"));
  for (std::size_t i = 0; i < devices; ++i) {
    CAPTURE(i);
    check_ack(fleet[i]->receive(), 16);
  }
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM device") == devices);
  CHECK(count(*db, "SELECT count(*) FROM record") == devices);
}

TEST_CASE("server: every frame sunkeep ever sent is a Success ack or a Resume") {
  TestServer server;
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"AL9","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  for (int code : {0, 3, 4, 5, 9, 12, 16, 8, 1, 255}) device.exchange(static_cast<std::uint8_t>(code), R"({"SN":"AL9"})");
  device.send(2, 8, R"({"Command":"SetConfig","CmdIndex":"1","Status":"Success"})");
  device.close();
  server.stop();
  auto db = server.read_db();
  auto sent = db->prepare("SELECT raw FROM frame WHERE direction = 1");
  int frames = 0;
  while (sent.step()) {
    const auto raw = sent.blob(0);
    const std::string payload(raw.begin() + 7, raw.end() - 2);
    const bool ack = raw[1] == 2 && payload == success_json;
    const bool resume = raw[1] == 1 && raw[2] == 8 && payload.find(R"("Command":"Resume")") != std::string::npos;
    CHECK((ack || resume));
    ++frames;
  }
  CHECK(frames == 11);
}

TEST_CASE("server: when the commit fails the frame is not acked and the device can resend it") {
  TestServer server;
  FakeDevice warmup(server.port());
  check_ack(warmup.exchange(0, ""), 0);  // the database exists and is in WAL mode
  {
    // Another writer holds the database: the server's transaction cannot start.
    storage::Connection blocker(server.db_path());
    blocker.exec("BEGIN EXCLUSIVE");
    FakeDevice device(server.port());
    device.send(1, 16, push("ALFAIL", "2024/03/03 22:05:21"));
    CHECK_FALSE(device.receive(15s).has_value());
    CHECK(device.closed_by_server());
    CHECK(server.counters().commit_failures.value() == 1);
    blocker.exec("ROLLBACK");
  }
  FakeDevice resent(server.port());
  check_ack(resent.exchange(16, push("ALFAIL", "2024/03/03 22:05:21")), 16);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record") == 1);
}
