// Hostile and broken input closes that connection without an ack, is logged and counted, and
// never affects the server or other devices (alphaess.md §5.1, §5.2).
#include "protocol/alphaess/frame_decoder.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace sunkeep;
using namespace sunkeep::test;

namespace {

const std::string good_push = R"({"Time":"2024/03/03 22:05:21","SN":"ALH","Pbat":"1.0"})";

// A new device can still log in and be acked.
void check_server_still_serves(TestServer& server) {
  FakeDevice other(server.port());
  check_ack(other.exchange(0, ""), 0);
}

std::uint64_t rejected(TestServer& server, alphaess::RejectReason reason) {
  return server.counters().rejections[static_cast<std::size_t>(reason)]->value();
}

}  // namespace

TEST_CASE("hostile: a bad CRC closes the connection - frames before it are committed and acked") {
  TestServer server;
  FakeDevice device(server.port());
  std::string bad = FakeDevice::frame(1, 16, R"({"Time":"2024/03/03 22:05:31","SN":"ALH","Pbat":"2.0"})");
  bad.back() = static_cast<char>(bad.back() ^ 0x5A);
  device.send_bytes(FakeDevice::frame(1, 16, good_push) + bad + FakeDevice::frame(1, 0, ""));
  const auto ack = device.receive();
  REQUIRE(ack);
  CHECK(ack->command() == 16);
  CHECK_FALSE(device.receive(2s));  // nothing for the bad frame or what followed it
  CHECK(device.closed_by_server());
  CHECK(rejected(server, alphaess::RejectReason::crc_mismatch) == 1);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM record") == 1);
  check_server_still_serves(server);
}

TEST_CASE("hostile: F1 other than 0x01 closes the connection without a reply") {
  TestServer server;
  FakeDevice device(server.port());
  std::string frame = FakeDevice::frame(1, 16, good_push);
  frame[0] = 0x02;
  device.send_bytes(frame);
  CHECK_FALSE(device.receive(2s));
  CHECK(device.closed_by_server());
  CHECK(rejected(server, alphaess::RejectReason::bad_start_byte) == 1);
  check_server_still_serves(server);
}

TEST_CASE("hostile: LEN over max_frame closes at once / without waiting for the payload") {
  TestServer server([](config::Config& c) { c.alphaess.max_frame = 1024; });
  FakeDevice device(server.port());
  device.send_bytes(std::string("\x01\x01\x10\x00\x00\x04\x01", 7));  // LEN 1025, nothing more
  CHECK(device.closed_by_server(3s));
  CHECK(rejected(server, alphaess::RejectReason::length_over_cap) == 1);
  check_server_still_serves(server);
}

TEST_CASE("hostile: a TLS ClientHello is refused / counted and recorded for the peer") {
  TestServer server;
  FakeDevice device(server.port());
  device.send_bytes(std::string("\x16\x03\x01\x00\xf1\x01\x00\x00\xed\x03\x03", 11) + std::string(64, '\x42'));
  CHECK_FALSE(device.receive(2s));
  CHECK(device.closed_by_server());
  CHECK(rejected(server, alphaess::RejectReason::tls_client_hello) == 1);
  server.stop();
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM rejection WHERE reason = 'tls_client_hello' AND peer_host = '127.0.0.1'") == 1);
  CHECK(count(*db, "SELECT count(*) FROM frame") == 0);
}

TEST_CASE("hostile: an undecodable payload with a valid CRC is archived / acked and counted") {
  TestServer server;
  FakeDevice device(server.port());
  for (std::uint8_t command : {std::uint8_t{16}, std::uint8_t{5}, std::uint8_t{9}, std::uint8_t{4}, std::uint8_t{12}}) {
    const auto reply = device.exchange(command, R"({"SN":""[removed]", broken)");
    REQUIRE(reply);
    CHECK(reply->command() == command);
    CHECK(reply->payload() == success_json);
  }
  CHECK(server.counters().decode_errors.value() == 5);
  auto db = server.read_db();
  CHECK(count(*db, "SELECT count(*) FROM frame WHERE direction = 0") == 5);
  CHECK(count(*db, "SELECT count(*) FROM record") == 0);
}

TEST_CASE("hostile: endless garbage and abrupt disconnects leave the server serving") {
  TestServer server;
  for (int round = 0; round < 20; ++round) {
    FakeDevice attacker(server.port());
    std::string junk(4096, static_cast<char>(round * 37));
    junk[0] = 0x01;  // looks like a frame start, then nonsense
    attacker.send_bytes(junk);
    attacker.close();
  }
  {
    FakeDevice half(server.port());
    half.send_bytes(FakeDevice::frame(1, 16, good_push).substr(0, 20));
  }  // closed mid-frame
  check_server_still_serves(server);
}
