// /metrics (interfaces.md §3.1) as Prometheus and its users see it: a scrape of a server with an
// AlphaESS and a Sermatec device connected passes `promtool check metrics`, carries the device
// families and every series the server counts, and the tokens guard it as specified.
#include "drivers/sermatec/session.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_inverter.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

const std::string alphaess_serial = "AL2002321010123";

std::string realtime_push() {
  return R"({"Time":"2024/03/03 22:05:21","SN":")" + alphaess_serial +
         R"(","Ppv1":"1029","Ppv2":"981","PrealL1":"-310","PrealL2":"0","PrealL3":"0","PmeterL1":"120",)"
         R"("PmeterL2":"0","PmeterL3":"0","PmeterDC":"951","Pbat":"-2187.8480","Sva":"1","VarAC":"0","VarDC":"0",)"
         R"("SOC":"26.0","EpvTotal":"1234.5"})";
}

// What `promtool check metrics` says of `page` (its exit code and output).
std::pair<int, std::string> promtool_check(const TempDir& dir, const std::string& page) {
  const std::string page_file = dir.file("metrics.txt");
  const std::string out_file = dir.file("promtool.txt");
  std::ofstream(page_file, std::ios::binary) << page;
  const std::string command = "promtool check metrics < " + page_file + " > " + out_file + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(out_file);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::string(std::istreambuf_iterator<char>(in), {})};
}

bool has_line_starting(const std::string& page, const std::string& start) {
  return page.starts_with(start) || page.find("\n" + start) != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: a scrape with an AlphaESS and a Sermatec device connected passes promtool") {
  TempDir dir;
  drivers::SermatecTiming timing;
  timing.answer_timeout = 1000ms;
  TestServer server(dir, [](config::Config& c) { c.sermatec.enabled = true; }, timing);
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":")" + alphaess_serial + R"(","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  check_ack(device.exchange(16, realtime_push()), 16);
  auto inverter = FakeInverter::connect_to(server.sermatec_port(), typical_inverter());
  const auto page_has = [&](const std::string& text) {
    return http_get(server.http_port(), "/metrics").body.find(text) != std::string::npos;
  };
  REQUIRE(eventually([&] { return page_has(R"(sunkeep_pv_energy_today_joules{device="sermatec:ST)"); }, 10s));

  const HttpReply scrape = http_get(server.http_port(), "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.headers.at("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  const auto [code, findings] = promtool_check(dir, scrape.body);
  CHECK_MESSAGE(code == 0, findings);
  CHECK_MESSAGE(findings.empty(), findings);

  const std::string& page = scrape.body;
  const std::string alphaess = R"({device="alphaess:)" + alphaess_serial + R"(",vendor="alphaess"})";
  CHECK(has_line_starting(page, "sunkeep_device_up" + alphaess + " 1"));
  CHECK(has_line_starting(page, "sunkeep_pv_power_watts" + alphaess + " 2961"));  // 1029 + 981 + 951
  CHECK(has_line_starting(page, "sunkeep_battery_soc_ratio" + alphaess + " 0.26"));
  CHECK(has_line_starting(page, "sunkeep_pv_energy_joules_total" + alphaess + " 4444200000"));  // 1234.5 kWh
  CHECK(has_line_starting(page, R"(sunkeep_device_info{device="alphaess:)" + alphaess_serial));
  CHECK(has_line_starting(page, R"(sunkeep_frames_received_total{listener="alphaess"} 2)"));
  CHECK(has_line_starting(page, R"(sunkeep_acks_sent_total{listener="alphaess"} 2)"));
  CHECK(has_line_starting(page, R"(sunkeep_connections_open{listener="sermatec"} 1)"));
  CHECK(has_line_starting(page, R"(sunkeep_build_info{version=")"));
  CHECK(has_line_starting(page, "sunkeep_storage_commit_seconds_bucket{le=\"+Inf\"}"));
  CHECK(has_line_starting(page, R"(sunkeep_pv_energy_today_joules{device="sermatec:ST)"));
}

TEST_CASE("metrics: every family the server counts into is on the page, each once with HELP and TYPE") {
  TestServer server;
  const std::string page = http_get(server.http_port(), "/metrics").body;
  const auto families = server.server().metrics().family_names();
  REQUIRE(families.size() > 30);
  for (const auto& name : families) {
    CHECK_MESSAGE(has_line_starting(page, "# HELP " + name + " "), name);
    const std::string type = "# TYPE " + name + " ";
    CHECK_MESSAGE(has_line_starting(page, type), name);
    CHECK_MESSAGE(page.find(type) == page.rfind(type), name);  // once
  }
}

TEST_CASE("metrics: the token or the metrics token is needed when set, and the metrics token opens nothing else") {
  TestServer server([](config::Config& c) {
    c.http.token = "api-secret";
    c.http.metrics_token = "scrape-secret";
  });
  const auto port = server.http_port();
  CHECK(http_get(port, "/metrics").status == 401);
  CHECK(http_get(port, "/metrics", "Bearer wrong").status == 401);
  CHECK(http_get(port, "/metrics", "Bearer scrape-secret").status == 200);
  CHECK(http_get(port, "/metrics", "Bearer api-secret").status == 200);
  CHECK(http_get(port, "/api/v1/devices", "Bearer scrape-secret").status == 401);
  CHECK(http_request(port, "POST", "/metrics", "Bearer scrape-secret").status == 405);

  TestServer open_server;
  CHECK(http_get(open_server.http_port(), "/metrics").status == 200);
}

TEST_CASE("metrics: the page is rebuilt from the database at start, from a version-7 database too") {
  TempDir dir;
  {
    storage::Connection old(dir.file("sunkeep.db"));
    storage::migrate(old, 7);  // what the build before the counter guard wrote
    old.exec("INSERT INTO device (vendor, serial, model, first_seen_ms, last_seen_ms) "
             "VALUES ('alphaess', 'ALOLD', 'SMILE5', 1000, 2000)");
    old.exec("INSERT INTO series (device_id, name, unit, canonical) VALUES (1, 'grid_import_energy_total', 'kWh', 1)");
    old.exec("INSERT INTO sample (series_id, t_ms, value) VALUES (1, 2000, 321.5)");
  }
  TestServer server(dir, {});
  const std::string page = http_get(server.http_port(), "/metrics").body;
  const std::string old = R"({device="alphaess:ALOLD",vendor="alphaess")";
  CHECK(has_line_starting(page, R"(sunkeep_device_info{device="alphaess:ALOLD",vendor="alphaess",model="SMILE5")"));
  CHECK(has_line_starting(page, "sunkeep_device_up" + old + "} 0"));
  CHECK(has_line_starting(page, "sunkeep_grid_import_energy_joules_total" + old + "} 1157400000"));  // 321.5 kWh
  CHECK(has_line_starting(page, "sunkeep_device_last_seen_timestamp_seconds" + old + "} 2"));
}
