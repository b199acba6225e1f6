// Nothing acknowledged is lost: the real `sunkeep serve` binary is killed with SIGKILL while a
// device streams records, restarted on the same database, and every acked record must be there.
#include "common/civil_time.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/server_process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <vector>
#include <string>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;

namespace {

// The i-th record of the stream: a realtime push 10 s after the previous one.
std::string device_time(int i) {
  const CivilTime base{2024, 3, 1, 0, 0, 0};
  return civil_from_naive_seconds(base.naive_epoch_seconds() + 10LL * i).to_device_string();
}

std::string push(int i) {
  return R"({"Time":")" + device_time(i) + R"(","SN":"ALKILL","Pbat":")" + std::to_string(i) + R"(","SOC":"50.0"})";
}

}  // namespace

TEST_CASE("shutdown: SIGTERM with a device connected exits 0 and keeps everything acked") {
  TempDir dir;
  ServerProcess server({.config_path = write_loopback_config(dir.path().string()), .log_path = dir.file("server.log")});
  FakeDevice device(server.port());
  for (int i = 0; i < 10; ++i) {
    const auto ack = device.exchange(16, push(i));
    REQUIRE(ack);
  }
  CHECK(server.terminate() == 0);
  CHECK(device.closed_by_server());
  storage::Connection db(dir.file("sunkeep.db"));
  CHECK(db.query_int("SELECT count(*) FROM record") == 10);
}

TEST_CASE("durability: after kill -9 every acknowledged record is in the database") {
  TempDir dir;
  const std::string config_path = write_loopback_config(dir.path().string());
  constexpr int burst = 5;
  std::vector<int> acked;
  int next = 0;
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    ServerProcess server({.config_path = config_path, .log_path = dir.file("server.log")});
    FakeDevice device(server.port());
    const int bursts = 8 + round * 3;
    for (int b = 0; b < bursts; ++b) {
      std::string bytes;
      for (int k = 0; k < burst; ++k) bytes += FakeDevice::frame(1, 16, push(next + k));
      device.send_bytes(bytes);
      // Acks come in order; in the last burst the server dies after the second ack.
      const int wanted = b + 1 < bursts ? burst : 2;
      for (int k = 0; k < wanted; ++k) {
        const auto ack = device.receive(5s);
        REQUIRE(ack);
        REQUIRE(ack->command() == 16);
        acked.push_back(next + k);
      }
      next += burst;
    }
    server.kill_hard();
  }

  storage::Connection db(dir.file("sunkeep.db"));
  auto check = db.prepare("SELECT count(*) FROM record WHERE device_time = ?1");
  int missing = 0;
  for (int i : acked) {
    check.bind(1, device_time(i));
    REQUIRE(check.step());
    if (check.int64(0) != 1) ++missing;
    check.reset();
  }
  CHECK(missing == 0);
  CHECK(acked.size() == (7 * burst + 2) + (10 * burst + 2) + (13 * burst + 2));
  auto integrity = db.prepare("PRAGMA integrity_check");
  REQUIRE(integrity.step());
  CHECK(integrity.text(0) == "ok");
}
