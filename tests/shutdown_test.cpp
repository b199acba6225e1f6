// SIGTERM ends the real `sunkeep serve` within 2 s with exit code 0 while a device and a
// local-mode inverter are connected, and everything it acknowledged is stored.
#include "common/civil_time.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/server_process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

std::string push(int i) {
  const CivilTime base{2024, 3, 1, 0, 0, 0};
  const auto time = civil_from_naive_seconds(base.naive_epoch_seconds() + 10LL * i).to_device_string();
  return R"({"Time":")" + time + R"(","SN":"ALTERM","Ppv1":"1","Pbat":")" + std::to_string(i) + R"(","SOC":"38.0"})";
}

}  // namespace

TEST_CASE("shutdown: SIGTERM with a device and a local-mode inverter connected exits 0 within 2 s, acks kept") {
  TempDir dir;
  auto inverter = FakeInverter::listen(typical_inverter());
  const std::string config = dir.file("sunkeep.toml");
  std::ofstream(config) << "[storage]\npath = \"" << dir.file("sunkeep.db") << "\"\n"
                        << "[alphaess]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n"
                        << "[sermatec]\nlisten = \"127.0.0.1:0\"\n[[sermatec.inverter]]\nhost = \"127.0.0.1\"\nport = "
                        << inverter->port() << "\n";
  ServerProcess server({.config_path = config, .log_path = dir.file("sunkeep.log")});
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"ALTERM","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  constexpr int acked = 20;
  for (int i = 0; i < acked; ++i) check_ack(device.exchange(16, push(i)), 16);
  REQUIRE(inverter->wait_for_queries(3));  // the local-mode session is polling

  const auto sent = std::chrono::steady_clock::now();
  const int code = server.terminate(5s);
  const auto took = std::chrono::steady_clock::now() - sent;
  CHECK(code == 0);
  CHECK_MESSAGE(took <= 2s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");

  storage::Connection db(dir.file("sunkeep.db"), storage::Connection::Mode::read_only);
  CHECK(db.query_int("SELECT count(*) FROM record") == acked);
}
