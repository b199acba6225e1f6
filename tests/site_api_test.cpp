// The site endpoints over real HTTP (dashboard.md §2): flows from an AlphaESS system and an SMA
// Energy Meter pushing live (the two-meter warning, then settled by [site] grid), and site
// energy, site series and `tz` buckets on a database written by the test in Europe/Berlin time
// across the 23-hour day of 2026-03-29 and the 25-hour day of 2026-10-25. Expected values are
// worked out by hand in the comments.
#include "server/clock.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_sma.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/site_seed.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json get_json(std::uint16_t port, const std::string& target, unsigned status = 200) {
  const HttpReply r = http_get(port, target);
  CHECK_MESSAGE(r.status == status, target, " -> ", r.status, " ", r.body);
  return json::parse(r.body);
}

std::string alphaess_push(const std::string& local_time) {
  // pv 100 + 50 + PmeterDC 10 = 160 W; grid −50 W; battery 500 W; SOC 50.5 %.
  return R"({"Time":")" + local_time + R"(","SN":"AL2002321010123","Ppv1":"100","Ppv2":"50","PrealL1":"200",)"
         R"("PrealL2":"0","PrealL3":"0","PmeterL1":"-50","PmeterL2":"0","PmeterL3":"0","PmeterDC":"10","Pbat":"500",)"
         R"("Sva":"1","VarAC":"0","VarDC":"0","SOC":"50.5"})";
}

// A server hearing an AlphaESS system (UTC clock) and an SMA Energy Meter, each pushing once now.
struct LiveHome {
  explicit LiveHome(std::function<void(config::Config&)> adjust = {})
      : server([&](config::Config& c) {
          c.sma.enabled = true;
          c.sma.energy_meter = true;
          c.sma.energy_meter_interval = 60s;  // fresh for 3 minutes
          if (adjust) adjust(c);
        }) {
    FakeDevice device(server.port());
    const std::string now_local = TimeZone("UTC").to_local(server::now_ms()).to_device_string();
    check_ack(device.exchange(16, alphaess_push(now_local)), 16);
    send_udp(server.sma_meter_port(), fixture_bytes("sma/emeter_6069_mlasch_pkt0.bin"));  // grid 1054.6 W
    REQUIRE(eventually([&] { return get_json(server.http_port(), "/api/v1/site/latest")["devices"] == 2; }, 5s));
  }
  TestServer server;
};

const std::string alpha = "alphaess:AL2002321010123";
const std::string meter = "sma:1901429669";

}  // namespace

TEST_CASE("site api: two grid meters leave the grid unknown with a warning - [site] grid settles it") {
  LiveHome home;
  const auto port = home.server.http_port();
  json site = get_json(port, "/api/v1/site");
  CHECK(site["name"] == "Home");
  CHECK(site["timezone"] == local_zone_name());  // "" resolved to the server's zone
  CHECK(site["sources"]["pv"] == json::array({alpha}));
  CHECK(site["sources"]["battery"] == json::array({alpha}));
  CHECK(site["sources"]["grid"] == json::array());
  REQUIRE(site["warnings"].size() == 1);
  const std::string warning = site["warnings"][0];
  CHECK(warning.find(alpha) != std::string::npos);
  CHECK(warning.find(meter) != std::string::npos);
  CHECK(warning.find("[site] grid = [") != std::string::npos);

  const json latest = get_json(port, "/api/v1/site/latest");
  const json& m = latest["metrics"];
  CHECK(m["pv_power"] == json({{"value", 160.0}, {"unit", "W"}}));
  CHECK(m["battery_power"] == json({{"value", 500.0}, {"unit", "W"}}));
  CHECK(m["battery_soc"] == json({{"value", 50.5}, {"unit", "%"}}));
  CHECK(m["grid_power"] == json({{"value", nullptr}, {"unit", "W"}}));  // never 2 meters summed
  CHECK(m["load_power"] == json({{"value", nullptr}, {"unit", "W"}}));
  CHECK(latest["devices"] == 2);
  CHECK(latest["devices_online"] == 2);
  CHECK(latest["time"].get<std::string>().ends_with("Z"));
}

TEST_CASE("site api: with [site] grid naming the meter, the balance uses it") {
  LiveHome home([](config::Config& c) {
    c.site.grid = {meter};
    c.site.name = "Garage roof";
    c.site.timezone = "Europe/Berlin";
  });
  const auto port = home.server.http_port();
  const json site = get_json(port, "/api/v1/site");
  CHECK(site["name"] == "Garage roof");
  CHECK(site["timezone"] == "Europe/Berlin");
  CHECK(site["sources"]["grid"] == json::array({meter}));
  CHECK(site["warnings"] == json::array());
  const json m = get_json(port, "/api/v1/site/latest")["metrics"];
  CHECK(m["grid_power"]["value"].get<double>() == doctest::Approx(1054.6));
  CHECK(m["load_power"]["value"].get<double>() == doctest::Approx(160 + 1054.6 + 500));
}

namespace {

// A server in Europe/Berlin on seed_march's database: E1 and S1 the PV, E1 the grid meter.
struct SeededHome {
  static bool seeded(const TempDir& dir) {
    seed_march(dir);
    return true;
  }
  TempDir dir;
  bool ready = seeded(dir);
  TestServer server{dir, configure_seeded_site};
};

json energy_row(const std::string& start, double produced, double imported, double exported, bool complete) {
  const double consumed = produced + imported - exported;
  return {{"start", start}, {"produced", produced}, {"consumed", consumed}, {"imported", imported},
          {"exported", exported}, {"charged", nullptr}, {"discharged", nullptr},
          {"self_sufficiency", std::round((1 - imported / consumed) * 1e6) / 1e6}, {"complete", complete}};
}

}  // namespace

TEST_CASE("site api: energy per local day across the 23-hour day, with a reset, a glitch and a missing day") {
  SeededHome home;
  const auto port = home.server.http_port();
  // `from` inside day A is rounded down to its local midnight; `to` is exclusive.
  const json days = get_json(port, "/api/v1/site/energy?period=day&from=2026-03-28T12:00:00%2B01:00&to=2026-03-31T22:00:00Z");
  CHECK(days["timezone"] == "Europe/Berlin");
  CHECK(days["period"] == "day");
  const json expected = json::array({energy_row("2026-03-27T23:00:00Z", 24 + 5.0, 12, 6, true),
                                     energy_row("2026-03-28T23:00:00Z", 22 + 4.0, 11.5, 5.75, true),
                                     energy_row("2026-03-30T22:00:00Z", 50 + 6.0, 24, 12, true)});  // C left out
  CHECK(days["rows"] == expected);

  // March as a month: the rises of A, B and D, and incomplete (no value at or before 1 March).
  const json month = get_json(port, "/api/v1/site/energy?period=month&from=2026-03-15T00:00:00Z&to=2026-03-31T22:00:00Z");
  REQUIRE(month["rows"].size() == 1);
  const json& m = month["rows"][0];
  CHECK(m["start"] == "2026-02-28T23:00:00Z");
  CHECK(m["produced"] == 29.0 + 26.0 + 56.0);
  CHECK(m["imported"] == 12 + 11.5 + 24);
  CHECK(m["exported"] == 6 + 5.75 + 12);
  CHECK(m["complete"] == false);

  const json bad = get_json(port, "/api/v1/site/energy?period=week", 400);
  CHECK(bad["detail"].get<std::string>().starts_with("period:"));
}

TEST_CASE("site api: a glitch just before midnight counts the same for the day alone and within its month") {
  TempDir dir;
  constexpr std::int64_t minute = 60'000;
  // 100 at 23:30, read as 0 at 23:59:50 (back at 100.5 ten minutes into day B: a glitch), 101 at 02:00.
  seed_points(dir, "alphaess", "G1", "pv_energy_total", "kWh",
              {{day_b - 30 * minute, 100}, {day_b - 10'000, 0}, {day_b + 10 * minute, 100.5}, {day_b + 2 * hour_ms, 101}});
  TestServer server(dir, [](config::Config& c) {
    c.site.timezone = "Europe/Berlin";
    c.site.pv = {"alphaess:G1"};
    c.site.grid = {"alphaess:G1"};  // it stores no grid counter: imported and consumed are unknown
  });
  const auto port = server.http_port();
  const json alone = get_json(port, "/api/v1/site/energy?period=day&from=2026-03-28T23:00:00Z&to=2026-03-29T22:00:00Z");
  const json month = get_json(port, "/api/v1/site/energy?period=day&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z");
  REQUIRE(alone["rows"].size() == 1);
  CHECK(alone["rows"][0]["produced"] == 1.0);  // 100 → 100.5 → 101, the 0 skipped
  const auto day_b_row = std::find_if(month["rows"].begin(), month["rows"].end(),
                                      [](const json& r) { return r["start"] == "2026-03-28T23:00:00Z"; });
  REQUIRE(day_b_row != month["rows"].end());
  CHECK((*day_b_row)["produced"] == 1.0);
  CHECK(alone["rows"][0]["imported"].is_null());
  CHECK(alone["rows"][0]["consumed"].is_null());  // never a partial sum
  CHECK(alone["rows"][0]["complete"] == false);
}

TEST_CASE("site api: site series sums the sources per bucket and leaves out a bucket a source lacks") {
  SeededHome home;
  const auto port = home.server.http_port();
  const std::string range = "&from=2026-03-27T23:00:00Z&to=2026-03-28T05:00:00Z&step=1h";
  const json s = get_json(port, "/api/v1/site/series?metric=pv_power&metric=load_power" + range);
  CHECK(s["step_s"] == 3600);
  CHECK(s["from"] == "2026-03-27T23:00:00Z");
  REQUIRE(s["series"].size() == 2);
  CHECK(s["series"][0]["metric"] == "pv_power");
  CHECK(s["series"][0]["unit"] == "W");
  const json expected_pv = json::array({json::array({"2026-03-27T23:00:00Z", 1500.0}), json::array({"2026-03-28T00:00:00Z", 1500.0}),
                                        json::array({"2026-03-28T01:00:00Z", 1500.0}), json::array({"2026-03-28T03:00:00Z", 1500.0}),
                                        json::array({"2026-03-28T04:00:00Z", 1500.0})});  // S1 has nothing at 02:00Z
  CHECK(s["series"][0]["points"] == expected_pv);
  CHECK(s["series"][1]["points"][0] == json::array({"2026-03-27T23:00:00Z", 1700.0}));  // 1500 + 200, no battery
  CHECK(get_json(port, "/api/v1/site/series?metric=battery_power" + range)["series"][0]["points"] == json::array());

  CHECK(get_json(port, "/api/v1/site/series?metric=pv_power", 400)["detail"].get<std::string>().starts_with("step:"));
  CHECK(get_json(port, "/api/v1/site/series?metric=Ppv1&step=1h", 400)["detail"].get<std::string>().starts_with("metric:"));
}

TEST_CASE("site api: tz=Europe/Berlin makes 1d buckets local days of 23 and 25 hours, in series and export.csv") {
  TempDir dir;
  seed_march(dir);
  TestServer server(dir, {});
  const auto port = server.http_port();
  const std::string device = "/api/v1/devices/alphaess:E1";
  const auto buckets = [&](const std::string& from, const std::string& to, const std::string& agg, bool tz) {
    return get_json(port, device + "/series?metric=Hours&step=1d&agg=" + agg + "&from=" + from + "&to=" + to +
                              (tz ? "&tz=Europe/Berlin" : ""))["series"][0]["points"];
  };
  // Spring: day B is 23 hours, hours 24 … 46.
  json first = buckets("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "first", true);
  json last = buckets("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "last", true);
  CHECK(first == json::array({json::array({"2026-03-28T23:00:00Z", 24.0})}));
  CHECK(last == json::array({json::array({"2026-03-28T23:00:00Z", 46.0})}));
  // Autumn: the first day is 25 hours (0 … 24), the next starts at 23:00Z with hour 25.
  first = buckets("2026-10-24T22:00:00Z", "2026-10-27T00:00:00Z", "first", true);
  last = buckets("2026-10-24T22:00:00Z", "2026-10-27T00:00:00Z", "last", true);
  CHECK(first == json::array({json::array({"2026-10-24T22:00:00Z", 0.0}), json::array({"2026-10-25T23:00:00Z", 25.0})}));
  CHECK(last == json::array({json::array({"2026-10-24T22:00:00Z", 24.0}), json::array({"2026-10-25T23:00:00Z", 48.0})}));
  // Without tz, unchanged: UTC midnights.
  first = buckets("2026-10-24T22:00:00Z", "2026-10-27T00:00:00Z", "first", false);
  CHECK(first[0] == json::array({"2026-10-24T00:00:00Z", 0.0}));
  CHECK(first[1] == json::array({"2026-10-25T00:00:00Z", 2.0}));

  const HttpReply csv = http_get(port, device + "/export.csv?metric=Hours&step=1d&agg=last&tz=Europe/Berlin"
                                                "&from=2026-10-24T22:00:00Z&to=2026-10-27T00:00:00Z");
  CHECK(csv.status == 200);
  CHECK(csv.body == "time,Hours\n2026-10-24T22:00:00Z,24\n2026-10-25T23:00:00Z,48\n");

  const json bad = get_json(port, device + "/series?metric=Hours&step=1d&tz=Mars/Olympus", 400);
  CHECK(bad["detail"].get<std::string>().starts_with("tz:"));
}
