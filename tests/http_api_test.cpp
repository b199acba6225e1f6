// The HTTP API v1 over real HTTP (interfaces.md §3), against a server fed by a simulated AlphaESS
// device in Australia/Sydney time. Expected values and UTC times are worked out by hand:
// Sydney is UTC+11 on 2024-03-03, so local 11:00:00 is 00:00:00Z.
#include "api/number_text.hpp"
#include "common/hex.hpp"
#include "storage/history.hpp"
#include "storage/schema.hpp"
#include "storage/store.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;

namespace {

constexpr const char* device_path = "/api/v1/devices/alphaess%3AAL2002321010123";
constexpr const char* password = "s3cret-pw";
const std::vector<std::string> personal_values{"42 Wallaby Way", "2000-ZIP", "0400123456", "LIC-77"};

std::string push(const std::string& local_time, double pbat, double grid, const std::string& serial = "AL2002321010123") {
  return R"({"Time":")" + local_time + R"(","SN":")" + serial + R"(","Ppv1":"100","Ppv2":"50","PrealL1":"200",)"
         R"("PrealL2":"0","PrealL3":"0","PmeterL1":")" + std::to_string(grid) + R"(","PmeterL2":"0","PmeterL3":"0",)"
         R"("PmeterDC":"10","Pbat":")" + std::to_string(pbat) + R"(","Sva":"1","VarAC":"0","VarDC":"0","SOC":"50.5"})";
}

std::string config_upload() {
  return R"({"SN":"AL2002321010123","Address":")" + personal_values[0] + R"(","ZipCode":")" + personal_values[1] +
         R"(","Country":"Australia","PhoneNumber":")" + personal_values[2] + R"(","License":")" + personal_values[3] +
         R"(","Minv":"Storion-GINLANG-S5","EMSVersion":"V1.01.05"})";
}

// A server in Sydney time holding: a login, a config upload, five realtime pushes around the
// UTC hour edges 00:00Z and 01:00Z, and two EventLog entries.
struct FedServer {
  explicit FedServer(std::function<void(config::Config&)> adjust = {})
      : server([&](config::Config& c) {
          c.alphaess.timezone = "Australia/Sydney";
          if (adjust) adjust(c);
        }) {
    FakeDevice device(server.port());
    check_ack(device.exchange(2, std::string(R"({"UserName":"AL2002321010123","Password":")") + password +
                                     R"(","CompanyName":"AlphaESS"})"), 2);
    check_ack(device.exchange(4, config_upload()), 4);
    const std::vector<std::tuple<std::string, double, double>> pushes{
        {"2024/03/03 10:59:50", 100, -10}, {"2024/03/03 11:00:00", 200, -20}, {"2024/03/03 11:00:10", 300, -30},
        {"2024/03/03 11:59:50", 400, -40}, {"2024/03/03 12:00:00", 500, -50}};
    for (const auto& [time, pbat, grid] : pushes) check_ack(device.exchange(16, push(time, pbat, grid)), 16);
    check_ack(device.exchange(9, R"({"MsgType":"EventLog","MsgContent":"24/03/03 11:00:05 41;24/03/03 10:59:59 42;","Description":"OK"})"), 9);
  }

  json get_json(const std::string& target, unsigned expected_status = 200) const {
    const HttpReply reply = http_get(server.http_port(), target);
    CHECK_MESSAGE(reply.status == expected_status, target, " -> ", reply.status, " ", reply.body);
    CHECK(reply.headers.at("content-type") == "application/json");
    return json::parse(reply.body);
  }

  TestServer server;
};

const std::string day = "&from=2024-03-02T23:00:00Z&to=2024-03-03T02:00:00Z";

// The bytes of every frame in a /frames answer, concatenated.
std::string frame_bytes_of(const json& answer) {
  std::string bytes;
  for (const auto& frame : answer["frames"]) {
    std::string decoded;
    REQUIRE(from_hex(frame["hex"].get<std::string>(), decoded));
    bytes += decoded;
  }
  return bytes;
}

json points(std::initializer_list<std::pair<const char*, double>> list) {
  json out = json::array();
  for (const auto& [t, v] : list) out.push_back({t, v});
  return out;
}

}  // namespace

TEST_CASE("api: latest has vendor and canonical names with units and UTC times") {
  FedServer fed;
  const json latest = fed.get_json(std::string(device_path) + "/latest");
  CHECK(latest["device"] == "alphaess:AL2002321010123");
  const json& m = latest["metrics"];
  CHECK(m["Pbat"] == json({{"value", 500.0}, {"unit", "W"}, {"time", "2024-03-03T01:00:00Z"}}));
  CHECK(m["battery_power"]["value"] == 500.0);
  CHECK(m["grid_power"]["value"] == -50.0);
  CHECK(m["pv_power"]["value"] == 160.0);          // 100 + 50 + PmeterDC 10
  CHECK(m["load_power"]["value"] == 160.0);        // 200 + 0 + 0 + (-50) + 10
  CHECK(m["battery_soc"] == json({{"value", 50.5}, {"unit", "%"}, {"time", "2024-03-03T01:00:00Z"}}));
  CHECK_FALSE(m.contains("SN"));
}

TEST_CASE("api: a raw series is in time order with from inclusive and to exclusive") {
  FedServer fed;
  const json s = fed.get_json(std::string(device_path) + "/series?metric=Pbat&metric=grid_power" + day);
  CHECK(s["device"] == "alphaess:AL2002321010123");
  CHECK(s["from"] == "2024-03-02T23:00:00Z");
  CHECK(s["to"] == "2024-03-03T02:00:00Z");
  CHECK(s["step_s"].is_null());
  REQUIRE(s["series"].size() == 2);
  CHECK(s["series"][0]["metric"] == "Pbat");
  CHECK(s["series"][0]["unit"] == "W");
  CHECK(s["series"][0]["points"] == points({{"2024-03-02T23:59:50Z", 100}, {"2024-03-03T00:00:00Z", 200},
                                            {"2024-03-03T00:00:10Z", 300}, {"2024-03-03T00:59:50Z", 400},
                                            {"2024-03-03T01:00:00Z", 500}}));
  CHECK(s["series"][1]["points"][0] == json({"2024-03-02T23:59:50Z", -10.0}));
  // Unix seconds and an offset time; `to` exactly on a point excludes it.
  const json bounded = fed.get_json(std::string(device_path) + "/series?metric=Pbat&from=1709424000&to=2024-03-03T12:00:00%2B11:00");
  CHECK(bounded["series"][0]["points"] == points({{"2024-03-03T00:00:00Z", 200}, {"2024-03-03T00:00:10Z", 300},
                                                  {"2024-03-03T00:59:50Z", 400}}));
  // Fractional seconds, and a '+' that arrived unencoded (a space after decoding).
  const json fractional = fed.get_json(std::string(device_path) +
                                       "/series?metric=Pbat&from=2024-03-03T11:00:00.000+11:00&to=2024-03-03T00:00:10.5Z");
  CHECK(fractional["series"][0]["points"].size() == 2);
}

TEST_CASE("api: buckets are aligned to the step and aggregate across bucket edges") {
  FedServer fed;
  const auto bucketed = [&](const std::string& agg) {
    const json s = fed.get_json(std::string(device_path) + "/series?metric=Pbat&step=1h&agg=" + agg + day);
    CHECK(s["step_s"] == 3600);
    return s["series"][0]["points"];
  };
  CHECK(bucketed("avg") == points({{"2024-03-02T23:00:00Z", 100}, {"2024-03-03T00:00:00Z", 300}, {"2024-03-03T01:00:00Z", 500}}));
  CHECK(bucketed("min") == points({{"2024-03-02T23:00:00Z", 100}, {"2024-03-03T00:00:00Z", 200}, {"2024-03-03T01:00:00Z", 500}}));
  CHECK(bucketed("max") == points({{"2024-03-02T23:00:00Z", 100}, {"2024-03-03T00:00:00Z", 400}, {"2024-03-03T01:00:00Z", 500}}));
  CHECK(bucketed("first") == points({{"2024-03-02T23:00:00Z", 100}, {"2024-03-03T00:00:00Z", 200}, {"2024-03-03T01:00:00Z", 500}}));
  CHECK(bucketed("last") == points({{"2024-03-02T23:00:00Z", 100}, {"2024-03-03T00:00:00Z", 400}, {"2024-03-03T01:00:00Z", 500}}));
  // Default agg is avg; 30-minute buckets leave the empty ones out; a step in plain seconds.
  const json half = fed.get_json(std::string(device_path) + "/series?metric=Pbat&step=1800" + day);
  CHECK(half["series"][0]["points"] == points({{"2024-03-02T23:30:00Z", 100}, {"2024-03-03T00:00:00Z", 250},
                                               {"2024-03-03T00:30:00Z", 400}, {"2024-03-03T01:00:00Z", 500}}));
}

TEST_CASE("api: numbers are written as the shortest text that reads back the same value") {
  const double values[] = {0.0, -0.0, 1.0, -1360.0, 50.5, 0.1, -1352.9, 1e-7, 1e16, 1e15 + 0.5, 123456789012345680.0,
                           1.0 / 3, -2.2250738585072014e-308, 4.9e-324, -1.7976931348623157e308,
                           std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  std::string text = "x";
  for (const double v : values) {
    const std::size_t start = text.size();
    api::append_number(text, v);
    const std::string written = text.substr(start);
    CHECK(written == fmt::format("{}", v));
    if (std::isfinite(v)) CHECK(std::strtod(written.c_str(), nullptr) == v);
    text += ',';
  }
  CHECK(text.rfind("x0,-0,1,-1360,50.5,0.1,-1352.9,1e-07,", 0) == 0);
}

TEST_CASE("api: export.csv has the series' data as rows") {
  FedServer fed;
  const HttpReply raw = http_get(fed.server.http_port(), std::string(device_path) + "/export.csv?metric=Pbat&metric=SOC" + day);
  CHECK(raw.status == 200);
  CHECK(raw.headers.at("content-type") == "text/csv; charset=utf-8");
  CHECK(raw.body ==
        "time,Pbat,SOC\n"
        "2024-03-02T23:59:50Z,100,50.5\n"
        "2024-03-03T00:00:00Z,200,50.5\n"
        "2024-03-03T00:00:10Z,300,50.5\n"
        "2024-03-03T00:59:50Z,400,50.5\n"
        "2024-03-03T01:00:00Z,500,50.5\n");
  const HttpReply hourly = http_get(fed.server.http_port(), std::string(device_path) + "/export.csv?metric=Pbat&step=1h&agg=max" + day);
  CHECK(hourly.body == "time,Pbat\n2024-03-02T23:00:00Z,100\n2024-03-03T00:00:00Z,400\n2024-03-03T01:00:00Z,500\n");
}

TEST_CASE("api: events come newest first with their UTC time") {
  FedServer fed;
  const json e = fed.get_json(std::string(device_path) + "/events" + "?from=2024-03-02T00:00:00Z&to=2024-03-04T00:00:00Z");
  REQUIRE(e["events"].size() == 2);
  CHECK(e["events"][0] == json({{"time", "2024-03-03T00:00:05Z"}, {"code", "41"}, {"source", "EventLog"}, {"text", nullptr}}));
  CHECK(e["events"][1]["time"] == "2024-03-02T23:59:59Z");
  CHECK(e["events"][1]["code"] == "42");
  const json one = fed.get_json(std::string(device_path) + "/events?limit=1&from=2024-03-02T00:00:00Z&to=2024-03-04T00:00:00Z");
  CHECK(one["events"].size() == 1);
}

TEST_CASE("api: frames come newest first as hex with secrets and personal data removed") {
  FedServer fed;
  const json f = fed.get_json(std::string(device_path) + "/frames?limit=1000");
  REQUIRE(f["frames"].size() == 16);  // login, config, 5 pushes, EventLog in; their 8 acks out
  CHECK(f["frames"][0]["direction"] == "out");
  CHECK(f["frames"][0]["command"] == 9);
  CHECK(f["frames"][1]["direction"] == "in");
  const std::string bytes = frame_bytes_of(f);
  CHECK(bytes.find(password) == std::string::npos);
  for (const auto& value : personal_values) CHECK(bytes.find(value) == std::string::npos);
  CHECK(bytes.find(R"("Country":"Australia")") != std::string::npos);
}

TEST_CASE("api: personal data is shown only when configured") {
  FedServer fed([](config::Config& c) { c.http.expose_personal_data = true; });
  const std::string bytes = frame_bytes_of(fed.get_json(std::string(device_path) + "/frames?limit=1000"));
  for (const auto& value : personal_values) CHECK(bytes.find(value) != std::string::npos);
  CHECK(bytes.find(password) == std::string::npos);  // passwords never
}

TEST_CASE("api: devices list and device objects have every field") {
  FedServer fed;
  const json list = fed.get_json("/api/v1/devices");
  REQUIRE(list.size() == 1);
  const json& d = list[0];
  for (const char* key : {"id", "vendor", "serial", "model", "firmware", "first_seen", "last_seen", "online", "peer",
                          "clock_offset_s", "parent"}) {
    CHECK_MESSAGE(d.contains(key), key);
  }
  CHECK(d["id"] == "alphaess:AL2002321010123");
  CHECK(d["vendor"] == "alphaess");
  CHECK(d["model"] == "Storion-GINLANG-S5");
  CHECK(d["firmware"] == "V1.01.05");
  CHECK(d["parent"].is_null());
  CHECK(d["online"] == true);
  CHECK(d["clock_offset_s"].is_number());
  CHECK(d["last_seen"].get<std::string>().back() == 'Z');
  CHECK(fed.get_json("/api/v1/devices/alphaess:AL2002321010123") == d);  // bare id form
  const json health = fed.get_json("/api/v1/health");
  CHECK(health["status"] == "ok");
  CHECK(health["version"] == SUNKEEP_VERSION);
  CHECK(health["uptime_s"].is_number_integer());
}

TEST_CASE("api: every error is JSON with the right status and names the bad parameter") {
  FedServer fed;
  const std::uint16_t port = fed.server.http_port();
  const auto expect = [&](const std::string& target, unsigned status, const std::string& error, const std::string& names = "") {
    CAPTURE(target);
    const HttpReply r = http_get(port, target);
    CHECK(r.status == status);
    const json body = json::parse(r.body);
    CHECK(body["error"] == error);
    CHECK(body["detail"].is_string());
    if (!names.empty()) CHECK(body["detail"].get<std::string>().rfind(names + ":", 0) == 0);
  };
  const std::string series = std::string(device_path) + "/series";
  expect(series, 400, "bad_parameter", "metric");
  expect(series + "?metric=NoSuchMetric", 400, "bad_parameter", "metric");
  expect(series + "?metric=Pbat&from=yesterday", 400, "bad_parameter", "from");
  expect(series + "?metric=Pbat&to=2024-13-01T00:00:00Z", 400, "bad_parameter", "to");
  expect(series + "?metric=Pbat&from=2024-03-03T00:00:00Z&to=2024-03-02T00:00:00Z", 400, "bad_parameter", "from");
  expect(series + "?metric=Pbat&step=0", 400, "bad_parameter", "step");
  expect(series + "?metric=Pbat&step=5x", 400, "bad_parameter", "step");
  expect(series + "?metric=Pbat&step=1170942020424240000", 400, "bad_parameter", "step");  // found by fuzz/http_request
  expect(series + "?metric=Pbat&step=999999999d", 400, "bad_parameter", "step");
  expect(series + "?metric=Pbat&step=1h&agg=median", 400, "bad_parameter", "agg");
  expect(series + "?metric=Pbat&agg=max", 400, "bad_parameter", "agg");
  expect(series + "?metric=Pbat&colour=red", 400, "bad_parameter", "colour");
  expect(series + "?metric=%ZZ", 400, "bad_parameter");
  expect(std::string(device_path) + "/events?limit=-1", 400, "bad_parameter", "limit");
  expect(std::string(device_path) + "/frames?limit=abc", 400, "bad_parameter", "limit");
  expect("/api/v1/devices/alphaess:NOPE", 404, "unknown_device");
  expect("/api/v1/devices/nocolon", 404, "unknown_device");
  expect("/api/v1/devices/alphaess:AL2002321010123/nothing", 404, "not_found");
  expect("/api/v2/health", 404, "not_found");
  expect("/no-such-page.html", 404, "not_found");  // "/" is the dashboard
  const HttpReply post = http_request(port, "POST", "/api/v1/devices");
  CHECK(post.status == 405);
  CHECK(post.headers.at("allow") == "GET, HEAD");
  const HttpReply head = http_request(port, "HEAD", "/api/v1/devices");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
}

TEST_CASE("api: answers that would exceed max_points are refused with 413") {
  FedServer fed([](config::Config& c) { c.http.max_points = 4; });
  const std::uint16_t port = fed.server.http_port();
  const HttpReply raw = http_get(port, std::string(device_path) + "/series?metric=Pbat" + day);
  CHECK(raw.status == 413);
  const json body = json::parse(raw.body);
  CHECK(body["error"] == "too_many_points");
  CHECK(body["detail"].get<std::string>().find("use step or a shorter range") != std::string::npos);
  CHECK(http_get(port, std::string(device_path) + "/series?metric=Pbat&step=1h" + day).status == 200);
  CHECK(http_get(port, std::string(device_path) + "/series?metric=Pbat&step=60" + day).status == 413);
  CHECK(http_get(port, std::string(device_path) + "/frames?limit=5").status == 413);
  CHECK(http_get(port, std::string(device_path) + "/frames?limit=4").status == 200);
  CHECK(http_get(port, std::string(device_path) + "/export.csv?metric=Pbat" + day).status == 413);
}

TEST_CASE("api: with a token, /api needs it and health stays open") {
  FedServer fed([](config::Config& c) { c.http.token = "letmein"; });
  const std::uint16_t port = fed.server.http_port();
  const HttpReply none = http_get(port, "/api/v1/devices");
  CHECK(none.status == 401);
  CHECK(none.headers.at("www-authenticate") == "Bearer");
  CHECK(json::parse(none.body)["error"] == "unauthorized");
  CHECK(http_get(port, "/api/v1/devices", "Bearer wrong").status == 401);
  CHECK(http_get(port, "/api/v1/devices", "letmein").status == 401);
  CHECK(http_get(port, "/api/v1/devices", "Bearer letmein").status == 200);
  const HttpReply health = http_get(port, "/api/v1/health");
  CHECK(health.status == 200);
  CHECK(json::parse(health.body)["token_required"] == true);  // the dashboard asks before it is refused
  CHECK(http_get(port, "/api/v1/nothing").status == 401);  // unknown /api paths reveal nothing
}

TEST_CASE("api: the Bearer scheme is case-insensitive") {
  FedServer fed([](config::Config& c) { c.http.token = "letmein"; });
  const std::uint16_t port = fed.server.http_port();
  CHECK(http_get(port, "/api/v1/devices", "bearer letmein").status == 200);
  CHECK(http_get(port, "/api/v1/devices", "BEARER letmein").status == 200);
  CHECK(http_get(port, "/api/v1/devices", "bEaReR  letmein").status == 200);
  CHECK(http_get(port, "/api/v1/devices", "bearer LETMEIN").status == 401);  // the token itself is exact
  CHECK(http_get(port, "/api/v1/devices", "Bearerletmein").status == 401);
  CHECK(http_get(port, "/api/v1/devices", "Basic letmein").status == 401);
}

TEST_CASE("api: with a token, a request without it is 401 before any parameter is read") {
  FedServer fed([](config::Config& c) { c.http.token = "letmein"; });
  const std::uint16_t port = fed.server.http_port();
  const std::string series = std::string(device_path) + "/series";
  for (const std::string& query : {std::string("?metric=%ZZ"), std::string("?colour=red"),
                                   std::string("?metric=Pbat&from=yesterday")}) {
    CAPTURE(query);
    const HttpReply r = http_get(port, series + query);
    CHECK(r.status == 401);
    CHECK(json::parse(r.body)["error"] == "unauthorized");
    CHECK(http_get(port, series + query, "Bearer letmein").status == 400);
  }
  CHECK(http_get(port, "/api/v1/devices/%ZZ").status == 401);  // a path that cannot be decoded too
}

TEST_CASE("api: a duplicated Authorization header is a 400") {
  FedServer fed([](config::Config& c) { c.http.token = "letmein"; });
  const std::string answer = http_raw(fed.server.http_port(),
                                      "GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                      "Authorization: Bearer letmein\r\nAuthorization: Bearer letmein\r\n\r\n");
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer.find(R"("error":"bad_request")") != std::string::npos);
  CHECK(answer.find("Authorization") != std::string::npos);
  CHECK(http_get(fed.server.http_port(), "/api/v1/devices", "Bearer letmein").status == 200);
}

TEST_CASE("api: a Transfer-Encoding whose last coding is not chunked is a 400 and the connection closes") {
  FedServer fed;
  const std::uint16_t port = fed.server.http_port();
  // A second request follows in the same bytes: it must not be answered (RFC 9112 §6.3).
  const std::string next = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string coding : {"gzip", "chunked, gzip", "chunked, chunked"}) {
    CAPTURE(coding);
    const std::string answer =
        http_raw(port, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + "\r\n\r\n" + next);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find(R"("error":"bad_request")") != std::string::npos);
    CHECK(answer.find("HTTP/1.1", 1) == std::string::npos);  // closed: the next request got nothing
  }
  // A chunked body (here empty) is still read, and the request answered.
  const std::string chunked = http_raw(port, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                             "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  CHECK(chunked.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("api: from and to outside the years 0000-9999 are a 400 naming the parameter") {
  FedServer fed;
  const std::uint16_t port = fed.server.http_port();
  const std::string series = std::string(device_path) + "/series?metric=Pbat";
  const auto expect_bad = [&](const std::string& query, const std::string& name) {
    CAPTURE(query);
    const HttpReply r = http_get(port, series + query);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body)["detail"].get<std::string>().rfind(name + ":", 0) == 0);
  };
  expect_bad("&to=9999-12-31T23:59:59-01:00", "to");          // an offset carries it into year 10000
  expect_bad("&from=0000-01-01T00:00:00%2B01:00", "from");    // and into year -1
  expect_bad("&from=-62167219201", "from");                   // a second before 0000-01-01T00:00:00Z
  expect_bad("&from=1&to=253402300800", "to");                // 10000-01-01T00:00:00Z
  expect_bad("&from=1&to=253402300799.9999", "to");           // rounds to year 10000
  // The edges themselves are accepted.
  CHECK(http_get(port, series + "&from=-62167219200&to=0").status == 200);
  CHECK(http_get(port, series + "&from=0000-01-01T00:00:00Z&to=1969-12-31T23:59:59Z").status == 200);
  CHECK(http_get(port, series + "&from=9999-12-31T00:00:00Z&to=9999-12-31T23:59:59.999Z").status == 200);
}

TEST_CASE("api: health reports storage and MQTT, and lists rejections from memory") {
  TempDir dir;
  {
    storage::Connection db(dir.file("sunkeep.db"));
    storage::configure_durable(db);
    storage::migrate(db);
    storage::Store store(db);
    store.note_rejection("192.168.1.40", "tls_client_hello", std::nullopt, 1709427600000);  // 2024-03-03T01:00:00Z
  }
  TestServer server(dir, {});
  const std::uint16_t port = server.http_port();
  const auto health = [&] {
    const HttpReply r = http_get(port, "/api/v1/health");
    CHECK(r.status == 200);
    return json::parse(r.body);
  };
  const std::uint64_t queries_before = server.http_counters().storage_queries.value();
  const json first = health();
  CHECK(first["status"] == "ok");
  CHECK(first["storage"] == "ok");
  CHECK(first["mqtt"] == "disabled");
  CHECK(first["token_required"] == false);
  CHECK(first["rejections"] == json::parse(R"([{"peer":"192.168.1.40","reason":"tls_client_hello","serial":null,)"
                                           R"("count":1,"last":"2024-03-03T01:00:00Z"}])"));
  // A new rejection shows at once, newest first.
  FakeDevice tls(server.port());
  tls.send_bytes(std::string("\x16\x03\x01\x00\xf1\x01\x00\x00\xed\x03\x03", 11) + std::string(64, '\x42'));
  REQUIRE(tls.closed_by_server());
  const json second = health();
  REQUIRE(second["rejections"].size() == 2);
  CHECK(second["rejections"][0]["peer"] == "127.0.0.1");
  CHECK(second["rejections"][0]["count"] == 1);
  CHECK(second["rejections"][1]["peer"] == "192.168.1.40");
  CHECK(server.http_counters().storage_queries.value() == queries_before);  // no query thread was asked
  CHECK(http_get(port, "/api/v1/devices").status == 200);
  CHECK(server.http_counters().storage_queries.value() == queries_before + 1);
}

TEST_CASE("api: malformed HTTP is answered 400 and the connection closed") {
  FedServer fed;
  const std::uint16_t port = fed.server.http_port();
  for (const std::string& junk : {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                                  std::string("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n") + std::string(20000, 'a') + "\r\n\r\n",
                                  std::string("POST /api/v1/devices HTTP/1.1\r\nContent-Length: 999999\r\n\r\n")}) {
    const std::string answer = http_raw(port, junk);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find(R"("error":"bad_request")") != std::string::npos);
  }
  CHECK(http_get(port, "/api/v1/health").status == 200);
  CHECK(fed.server.http_counters().malformed.value() == 4);
}

TEST_CASE("api: no response ever contains the device password or personal data") {
  FedServer fed;
  const std::uint16_t port = fed.server.http_port();
  std::string everything;
  for (const std::string path : {"/api/v1/health", "/api/v1/devices", "/latest", "/series?metric=Pbat", "/events",
                                 "/frames?limit=1000", "/export.csv?metric=Pbat"}) {
    const std::string target = path[0] == '/' && path.rfind("/api", 0) == 0 ? path : std::string(device_path) + path;
    everything += http_get(port, target).body;
  }
  everything += frame_bytes_of(json::parse(http_get(port, std::string(device_path) + "/frames?limit=1000").body));
  CHECK(everything.find(password) == std::string::npos);
  for (const auto& v : personal_values) CHECK(everything.find(v) == std::string::npos);
}

TEST_CASE("api: many HTTP clients while devices push: every ack and every answer arrives") {
  FedServer fed;
  std::atomic<bool> pushing{true};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 200 && pushing; ++i) {
        const HttpReply r = http_get(fed.server.http_port(), std::string(device_path) + "/series?metric=Pbat&step=60" + day);
        (r.status == 200 ? answered : failed)++;
      }
    });
  }
  std::vector<std::unique_ptr<FakeDevice>> devices;
  for (int d = 0; d < 10; ++d) devices.push_back(std::make_unique<FakeDevice>(fed.server.port()));
  int acked = 0;
  for (int round = 0; round < 20; ++round) {
    for (std::size_t d = 0; d < devices.size(); ++d) {
      const std::string time = "2024/03/04 00:" + std::to_string(10 + round) + ":00";
      const auto ack = devices[d]->exchange(16, push(time, 1, 1, "ALBUSY" + std::to_string(d)));
      if (ack && ack->command() == 16) ++acked;
    }
  }
  pushing = false;
  for (auto& t : clients) t.join();
  CHECK(acked == 200);
  CHECK(failed == 0);
  CHECK(answered > 0);
}

TEST_CASE("api: every endpoint in docs/api.md has an example request and every example answers 200") {
  FedServer fed;
  std::ifstream doc(std::string(SUNKEEP_SOURCE_DIR) + "/docs/api.md");
  REQUIRE(doc);
  std::stringstream text;
  text << doc.rdbuf();
  const std::string content = text.str();
  // Endpoint headings: "## `GET /api/v1/devices/{id}/latest`"; examples: indented "    GET /api/v1/…".
  const std::regex heading(R"(\n## `GET (/api/v1/[^`]*)`)");
  const std::regex example(R"(\n    GET (/api/v1/\S+))");
  std::vector<std::string> examples;
  for (auto it = std::sregex_iterator(content.begin(), content.end(), example); it != std::sregex_iterator(); ++it) {
    examples.push_back((*it)[1]);
  }
  int endpoints = 0;
  for (auto it = std::sregex_iterator(content.begin(), content.end(), heading); it != std::sregex_iterator(); ++it) {
    const std::string path_template = (*it)[1];
    CAPTURE(path_template);
    const std::regex pattern(std::regex_replace(path_template, std::regex(R"(\{id\})"), "[^/?]+") + R"((\?.*)?)");
    CHECK(std::any_of(examples.begin(), examples.end(), [&](const std::string& e) { return std::regex_match(e, pattern); }));
    ++endpoints;
  }
  CHECK(endpoints == 13);
  for (const auto& target : examples) {
    CAPTURE(target);
    if (target == "/api/v1/live") {
      CHECK(SseClient(fed.server.http_port()).status() == 200);  // a stream: only its header is read
    } else {
      CHECK(http_get(fed.server.http_port(), target).status == 200);
    }
  }
}

TEST_CASE("api: an exception of the server's own is a 500 JSON error and a log line, never a dropped answer") {
  // A listener whose answer throws, as a fault anywhere in answering would.
  struct ThrowingLiveStatus final : api::LiveStatus {
    [[nodiscard]] bool connected(const std::string&, const std::string&) const override {
      throw std::logic_error("live status is broken");
    }
  };
  TempDir dir;
  storage::Connection db(dir.file("api.db"));
  storage::configure_durable(db);
  storage::migrate(db);
  storage::Store store(db);
  store.upsert_device("alphaess", "AL1", 1000, "127.0.0.1:1");  // seen long ago: online asks the listener
  const ThrowingLiveStatus live;
  const api::Api api({.version = "test"}, live);
  storage::HistoryReader history(db);
  LogCapture log;
  const api::Response r = api.handle({"GET", "/api/v1/devices", ""}, history, 10'000'000'000);
  CHECK(r.status == 500);
  CHECK(nlohmann::json::parse(r.body)["error"] == "internal_error");
  CHECK(log.lines_with("api: answering a request failed: live status is broken") == 1);
}
