// Nothing secret is logged, stored or answered (alphaess.md §5.9, sermatec.md §6.5), checked end
// to end: a real server, simulated devices, every log message at trace level, every API answer
// and the raw bytes of the database files.
#include "common/hex.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;

namespace {

const std::string canary = "CANARY-5ecret";
const std::string all_time = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";

std::string percent_encoded(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += "%" + to_hex(std::span<const std::uint8_t>(&byte, 1));
    }
  }
  return out;
}

std::string get_ok(std::uint16_t port, const std::string& target) {
  const HttpReply reply = http_get(port, target);
  CHECK_MESSAGE(reply.status == 200, target);
  return reply.body;
}

// Every answer the API gives about every device: the list, each device, its latest values,
// frames (also as the bytes their hex stands for), events and every series.
std::string every_answer(std::uint16_t port) {
  std::string all = get_ok(port, "/api/v1/devices");
  const json devices = json::parse(all);
  CHECK(!devices.empty());
  for (const auto& device : devices) {
    const std::string path = "/api/v1/devices/" + percent_encoded(device["id"].get<std::string>());
    all += get_ok(port, path);
    all += get_ok(port, path + "/events?limit=1000&" + all_time);
    const std::string frames = get_ok(port, path + "/frames?limit=1000&" + all_time);
    all += frames;
    const json frame_list = json::parse(frames);
    for (const auto& frame : frame_list["frames"]) {
      std::string bytes;
      CHECK(from_hex(frame["hex"].get<std::string>(), bytes));
      all += bytes;
    }
    const std::string latest = get_ok(port, path + "/latest");
    all += latest;
    std::vector<std::string> metrics;
    const json values = json::parse(latest);
    for (const auto& [metric, value] : values["metrics"].items()) metrics.push_back(metric);
    constexpr std::size_t per_request = 20;  // the request line stays far below the header limit
    for (std::size_t first = 0; first < metrics.size(); first += per_request) {
      std::string query = path + "/series?" + all_time;
      for (std::size_t i = first; i < std::min(metrics.size(), first + per_request); ++i) {
        query += "&metric=" + percent_encoded(metrics[i]);
      }
      all += get_ok(port, query);
    }
  }
  return all;
}

// The bytes of every file in the database's folder (the database, its -wal and -shm).
std::string database_files(const TempDir& dir) {
  std::string all;
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(file.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    all += bytes.str();
  }
  return all;
}

// Bytes other than printable ASCII and the line ends between messages.
std::size_t raw_bytes_in(const std::string& log) {
  return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c != '\n' && (byte < 0x20 || byte >= 0x7F);
  }));
}

}  // namespace

TEST_CASE("log: malformed logins never put their password in the log / nor raw device bytes") {
  const std::string head = R"({"UserName":"AL1","Password":")";
  const std::vector<std::string> logins{head + canary, head + canary + "\tmore\"}", head + canary + "\xff\xfe\"}",
                                        head + canary + "\\q\"}", head + canary + "\"} " + canary};
  LogCapture log;
  for (const auto& login : logins) {
    CAPTURE(login);
    TestServer server;  // a server each: a decode failure is logged once per device and command
    FakeDevice device(server.port());
    check_ack(device.exchange(2, login), 2);
  }
  {
    // A device naming itself with control bytes and at length: its serial is logged escaped and cut.
    TestServer server;
    FakeDevice device(server.port());
    const std::string serial = R"(AL\u0007\u001b[31m\t)" + std::string(300, 'X');
    check_ack(device.exchange(2, R"({"UserName":")" + serial + R"(","Password":")" + canary + R"("})"), 2);
    check_ack(device.exchange(77, "{}"), 77);  // an unknown command: logged with the device's name
  }
  const std::string text = log.text();
  CHECK(text.find("F3=2 payload not decoded (bad JSON: unterminated string at byte 43)") != std::string::npos);
  CHECK(text.find("unknown command F3=77") != std::string::npos);
  CHECK(text.find(R"(AL\x07\x1b[31m\x09XXX)") != std::string::npos);
  CHECK(text.find("CANARY") == std::string::npos);
  CHECK(text.find("5ecret") == std::string::npos);
  CHECK(text.find(std::string(65, 'X')) == std::string::npos);
  CHECK(raw_bytes_in(text) == 0);
}

TEST_CASE("secrets: a fixture session leaves its login password in no log, API answer or database file") {
  const std::string login = json_fixture("alphaess/tidalvirus_1-1-2_login.json");
  const std::string password = json::parse(login)["Password"].get<std::string>();
  REQUIRE(password.size() >= 4);
  const std::vector<std::uint8_t> password_bytes(password.begin(), password.end());
  const std::vector<std::string> forms{password, to_hex(password_bytes)};  // as text and as the API's hex
  TempDir dir;
  LogCapture log;
  std::string answers;
  std::string files_while_running;
  {
    TestServer server(dir, {});
    FakeDevice device(server.port());
    check_ack(device.exchange(2, login), 2);
    check_ack(device.exchange(0, ""), 0);
    check_ack(device.exchange(4, json_fixture("alphaess/tidalvirus_1-1-4_config_upload.json")), 4);
    check_ack(device.exchange(16, json_fixture("alphaess/tidalvirus_1-1-16_realtime.json")), 16);
    check_ack(device.exchange(5, json_fixture("alphaess/tidalvirus_1-1-5_5min_dump.json")), 5);
    check_ack(device.exchange(9, json_fixture("alphaess/tidalvirus_1-1-9_eventlog.json")), 9);
    check_ack(device.exchange(12, fixture("alphaess/tidalvirus_1-1-12_history.csv")), 12);
    check_ack(device.exchange(16, json_fixture("alphaess/tidalvirus_2024-03-03_cmd16_payload.json")), 16);
    check_ack(device.exchange(5, json_fixture("alphaess/tidalvirus_2024-03-03_cmd5_payload.json")), 5);
    device.send(2, 8, json_fixture("alphaess/tidalvirus_1-2-8_resume_ack.json"));  // a device's command answer
    check_ack(device.exchange(0, ""), 0);  // frames are handled in order: the answer is stored
    // The device again, its login cut right after the password (as a firmware with a short
    // buffer might send it): a decode failure, logged.
    FakeDevice again(server.port());
    check_ack(again.exchange(2, login.substr(0, login.find(password) + password.size())), 2);
    check_ack(again.exchange(0, ""), 0);
    answers = every_answer(server.http_port());
    files_while_running = database_files(dir);
    server.stop();
  }
  const std::string files_after = database_files(dir);
  const std::string text = log.text();
  CHECK(text.find("F3=2 payload not decoded") != std::string::npos);
  CHECK(answers.find(R"("id":"alphaess:serialnumber")") != std::string::npos);
  CHECK(answers.find(R"("Password": "***")") != std::string::npos);  // the login frame, as the API shows it
  for (const auto& form : forms) {
    CAPTURE(form);
    CHECK(text.find(form) == std::string::npos);
    CHECK(answers.find(form) == std::string::npos);
    CHECK(files_while_running.find(form) == std::string::npos);
    CHECK(files_after.find(form) == std::string::npos);
  }
}

TEST_CASE("secrets: a Password in any frame, command or direction is stored and answered only as ***") {
  TempDir dir;
  std::string answers;
  {
    TestServer server(dir, {});
    FakeDevice device(server.port());
    check_ack(device.exchange(2, R"({"UserName":"ALPW","Pass\u0077ord":"CANARY-1"})"), 2);
    check_ack(device.exchange(16, R"({"Time":"2024/03/03 22:05:21","SN":"ALPW","PASSWORD":"CANARY-2",)"
                                  R"("password":5318008,"Pbat":"5"})"), 16);
    check_ack(device.exchange(4, R"({"SN":"ALPW","Settings":{"Password":"CANARY-3"},"Minv":"M1"})"), 4);
    check_ack(device.exchange(9, R"({"MsgType":"Socket","MsgContent":{"password":["CANARY-4"]}})"), 9);
    device.send(2, 8, R"({"Command":"Resume","CmdIndex":"1","Status":"Success","Password":"CANARY-5"})");
    check_ack(device.exchange(16, R"({"Time":"2024/03/03 22:05:31","SN":"ALPW","Password":"CANARY-6)"), 16);
    answers = every_answer(server.http_port());
    server.stop();
  }
  CHECK(answers.find(R"("id":"alphaess:ALPW")") != std::string::npos);
  CHECK(answers.find(R"("Pbat")") != std::string::npos);
  CHECK(answers.find("CANARY") == std::string::npos);
  CHECK(answers.find("5318008") == std::string::npos);
  CHECK(database_files(dir).find("CANARY") == std::string::npos);
}

TEST_CASE("log: junk from an inverter asked for its Wi-Fi password is counted, not quoted") {
  const std::string password = "Pa55-w0rd-wifi!";
  const std::vector<std::uint8_t> password_bytes(password.begin(), password.end());
  LogCapture log;
  {
    drivers::SermatecTiming timing;
    timing.answer_timeout = 1000ms;
    TestServer server([](config::Config& c) {
      c.sermatec.enabled = true;
      c.sermatec.poll_interval = 60s;
      c.sermatec.query_network = true;
    }, timing);
    InverterBehaviour behaviour = typical_inverter("SM609", 609);
    std::vector<std::uint8_t> payload(91, 0);
    std::copy(password.begin(), password.end(), payload.begin() + 31);
    std::vector<std::uint8_t> broken = answer_frame(0xB1, payload);
    broken.erase(broken.begin());  // without its first byte the answer is junk, not a frame
    behaviour.answers[0xB1] = {broken};
    auto inverter = FakeInverter::connect_to(server.sermatec_port(), behaviour);
    for (int i = 0; i < 200 && server.sermatec_counters().junk_bytes.value() < broken.size(); ++i) {
      std::this_thread::sleep_for(50ms);
    }
    CHECK(server.sermatec_counters().junk_bytes.value() >= broken.size());
  }
  const std::string text = log.text();
  CHECK(text.find("bytes that are not a frame skipped") != std::string::npos);
  CHECK(text.find(password) == std::string::npos);
  CHECK(text.find(to_hex(password_bytes)) == std::string::npos);
}
