// The live stream /api/v1/live (dashboard.md §2). With the stream's own class and a fake set of
// devices: a client that falls behind is dropped while another goes on, the keepalive wait, the
// client cap, site events only on change, availability on change. Over real HTTP with simulated
// devices: events within 2 s of a push, at most one site event a second, a site value turning
// null and a meter going offline as it falls quiet, the client cap's 503, the token, a stalled
// client dropped while devices keep their ack latency, and the keepalive comment after 15 s.
#include "server/clock.hpp"
#include "server/live_stream.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_sma.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;

struct FakeStates final : DeviceStates {
  Devices devices;
  void read(const std::function<void(const Devices&)>& read) const override { read(devices); }
};

DeviceUpdate update_of(const std::string& serial, double value, std::size_t metrics = 1) {
  auto state = std::make_shared<DeviceState>();
  state->vendor = "acme";
  state->serial = serial;
  for (std::size_t i = 0; i < metrics; ++i) {
    state->metrics["metric_" + std::to_string(i)] = {.value = value, .unit = "W", .canonical = false, .time = 1000,
                                                    .arrived = 1000, .cadence_ms = 10'000, .exposed = std::nullopt};
  }
  return {std::move(state), {}};
}

// The text a client's next() gives within `wait`, run on `strand` (the client's, as a
// connection's coroutine runs) of `io`.
std::optional<std::string> take(asio::io_context& io, const asio::any_io_executor& strand, server::LiveClient& client,
                                std::chrono::milliseconds keepalive, std::chrono::milliseconds wait = 2s) {
  std::optional<std::optional<std::string>> got;
  asio::co_spawn(strand, [&]() -> asio::awaitable<void> { got = co_await client.next(keepalive); }, asio::detached);
  io.restart();
  io.run_for(wait);
  REQUIRE(got.has_value());
  return *got;
}

struct StreamRig {
  asio::io_context io;  // first: the clients' timers are destroyed before it
  asio::any_io_executor strand = asio::make_strand(io);
  FakeStates states;
  bool online = true;
  std::string site = R"({"time":"t","metrics":{"pv_power":{"value":1.0,"unit":"W"}}})";
  metrics::Registry registry;
  server::LiveStream stream{server::LiveLimits{.max_clients = 2, .queue_bytes = 1000, .keepalive = 150ms, .tick = 1s},
                            {.devices = states,
                             .online = [this](const DeviceState&, UtcMillis) { return online; },
                             .site_json = [this](UtcMillis) { return site; },
                             .clock = [] { return UtcMillis{1000}; }},
                            registry};
};

}  // namespace

TEST_CASE("live stream: a client that falls behind is dropped, the next one goes on, and the cap holds") {
  StreamRig rig;
  auto slow = rig.stream.join(rig.strand);
  auto reader = rig.stream.join(rig.strand);
  REQUIRE(slow);
  REQUIRE(reader);
  CHECK_FALSE(rig.stream.join(rig.strand));  // max_clients = 2
  const auto first = take(rig.io, rig.strand, *reader, 150ms);
  REQUIRE(first);
  CHECK(first->starts_with("event: site\ndata: {\"time\""));  // every client starts with the site
  int delivered = 0;
  for (int i = 0; i < 20; ++i) {
    rig.stream.updated({update_of("X1", i, 3)});  // about 200 bytes an event
    const auto text = take(rig.io, rig.strand, *reader, 150ms);
    REQUIRE(text);
    CHECK(text->starts_with("event: device\ndata: {\"device\":\"acme:X1\""));
    ++delivered;
  }
  CHECK(delivered == 20);
  CHECK(slow->dropped());  // 1,000 bytes of queue hold fewer than 20 events
  CHECK_FALSE(take(rig.io, rig.strand, *slow, 150ms));
  rig.stream.leave(slow);
  CHECK(rig.stream.join(rig.strand));  // its place is free again
}

TEST_CASE("live stream: a quiet client gets \"\" at the keepalive time, a woken one its events at once") {
  StreamRig rig;
  auto client = rig.stream.join(rig.strand);
  REQUIRE(take(rig.io, rig.strand, *client, 150ms));  // the first site event
  const auto start = std::chrono::steady_clock::now();
  CHECK(take(rig.io, rig.strand, *client, 150ms) == std::string());
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
  std::thread pusher([&] {
    std::this_thread::sleep_for(50ms);
    rig.stream.updated({update_of("X1", 1)});
  });
  const auto woken = take(rig.io, rig.strand, *client, 5s, 3s);
  pusher.join();
  REQUIRE(woken);
  CHECK(woken->starts_with("event: device"));
}

TEST_CASE("live stream: site events only when the site changed, availability when a device changed") {
  StreamRig rig;
  rig.states.devices["acme:X1"] = *update_of("X1", 1).state;
  rig.stream.tick();  // learns who is online (and tells nobody: no client yet)
  auto client = rig.stream.join(rig.strand);
  REQUIRE(take(rig.io, rig.strand, *client, 150ms));  // the first site event
  rig.stream.tick();                       // the site the client got on joining: nothing
  CHECK(take(rig.io, rig.strand, *client, 150ms) == std::string());
  rig.site = R"({"time":"t1","metrics":{"pv_power":{"value":1.0,"unit":"W"}}})";
  rig.stream.tick();  // only the time changed: nothing
  CHECK(take(rig.io, rig.strand, *client, 150ms) == std::string());
  rig.site = R"({"time":"t2","metrics":{"pv_power":{"value":null,"unit":"W"}}})";
  rig.online = false;
  rig.stream.tick();
  const auto text = take(rig.io, rig.strand, *client, 150ms);
  REQUIRE(text);
  CHECK(text->find("event: availability\ndata: {\"device\":\"acme:X1\",\"online\":false}\n\n") != std::string::npos);
  CHECK(text->find("event: site\ndata: {\"time\":\"t2\"") != std::string::npos);
}

namespace {

std::string push_json(int i, double pbat) {
  const std::string local = TimeZone("UTC").to_local(server::now_ms() + i * 1000LL).to_device_string();
  return R"({"Time":")" + local + R"(","SN":"AL2002321010123","Ppv1":"100","Ppv2":"50","PrealL1":"200",)"
         R"("PrealL2":"0","PrealL3":"0","PmeterL1":"-50","PmeterL2":"0","PmeterL3":"0","PmeterDC":"10","Pbat":")" +
         std::to_string(pbat) + R"(","Sva":"1","VarAC":"0","VarDC":"0","SOC":"50.5"})";
}

void quiet_alphaess(config::Config& c) { c.alphaess.backfill = false; }

double metric_on_page(std::uint16_t port, const std::string& line_start) {
  const std::string page = http_get(port, "/metrics").body;
  const std::size_t at = page.find("\n" + line_start + " ");
  return at == std::string::npos ? -1 : std::stod(page.substr(at + line_start.size() + 2));
}

}  // namespace

TEST_CASE("live: events within 2 s of a push, at most one site event a second, a quiet meter goes offline") {
  TestServer server([](config::Config& c) {
    quiet_alphaess(c);
    c.sma.enabled = true;
    c.sma.energy_meter = true;
    c.sma.energy_meter_interval = 300ms;  // fresh for 0.9 s, online for 3 s
    c.site.grid = {"sma:1901429669"};
  });
  SseClient live(server.http_port());
  REQUIRE(live.status() == 200);
  CHECK(live.header().find("Content-Type: text/event-stream") != std::string::npos);
  REQUIRE(live.next_named("site", 2s));

  FakeDevice device(server.port());
  auto sent = std::chrono::steady_clock::now();
  check_ack(device.exchange(16, push_json(0, 500)), 16);
  const auto event = live.next_named("device", 2s);
  REQUIRE(event);
  CHECK(std::chrono::steady_clock::now() - sent < 2s);
  const json latest = json::parse(event->data);
  CHECK(latest["device"] == "alphaess:AL2002321010123");
  CHECK(latest["metrics"]["battery_power"]["value"] == 500.0);
  CHECK(latest["metrics"]["battery_power"]["unit"] == "W");

  // The meter, sending every 250 ms: a site event with its grid value and an availability event.
  sent = std::chrono::steady_clock::now();
  std::atomic<bool> metering = true;
  std::thread meter([&] {
    for (int i = 0; i < 40 && metering; ++i) {
      send_udp(server.sma_meter_port(), fixture_bytes("sma/emeter_6069_mlasch_pkt0.bin"));
      std::this_thread::sleep_for(250ms);
    }
  });
  std::optional<json> site_with_grid;
  bool meter_online = false;
  while (auto e = live.next(2s)) {
    if (e->name == "availability" && json::parse(e->data) == json({{"device", "sma:1901429669"}, {"online", true}})) {
      meter_online = true;
    }
    if (e->name == "site" && !json::parse(e->data)["metrics"]["grid_power"]["value"].is_null()) site_with_grid = json::parse(e->data);
    if (meter_online && site_with_grid) break;
  }
  metering = false;
  meter.join();
  CHECK(std::chrono::steady_clock::now() - sent < 2s + 1s);
  REQUIRE(site_with_grid);
  CHECK((*site_with_grid)["metrics"]["grid_power"]["value"].get<double>() == doctest::Approx(1054.6));
  CHECK((*site_with_grid)["metrics"]["load_power"]["value"].get<double>() == doctest::Approx(160 + 1054.6 + 500));
  CHECK(meter_online);

  // Ten pushes in about a second: a device event each, site events at least a second apart.
  std::vector<std::chrono::steady_clock::time_point> site_times;
  int device_events = 0;
  std::atomic<bool> pushing = true;
  std::thread pusher([&] {
    for (int i = 1; i <= 10; ++i) {
      check_ack(device.exchange(16, push_json(i, 500 + i)), 16);
      std::this_thread::sleep_for(100ms);
    }
    pushing = false;
  });
  const auto until = std::chrono::steady_clock::now() + 4s;
  bool grid_went_null = false;
  bool meter_offline = false;
  while (std::chrono::steady_clock::now() < until) {
    const auto e = live.next(200ms);
    if (!e) continue;
    if (e->name == "device") ++device_events;
    if (e->name == "site") {
      site_times.push_back(std::chrono::steady_clock::now());
      if (json::parse(e->data)["metrics"]["grid_power"]["value"].is_null()) grid_went_null = true;  // the meter went stale
    }
    if (e->name == "availability" && json::parse(e->data)["online"] == false) meter_offline = true;
  }
  pusher.join();
  CHECK(device_events == 10);
  CHECK(grid_went_null);
  CHECK(meter_offline);  // no datagram for 3 s
  REQUIRE(site_times.size() >= 2);
  for (std::size_t i = 1; i < site_times.size(); ++i) CHECK(site_times[i] - site_times[i - 1] >= 800ms);
}

TEST_CASE("live: at most max_live_clients streams - the next gets a 503 JSON error") {
  TestServer server([](config::Config& c) { c.http.max_live_clients = 2; });
  SseClient a(server.http_port());
  SseClient b(server.http_port());
  CHECK(a.status() == 200);
  CHECK(b.status() == 200);
  SseClient c(server.http_port());
  CHECK(c.status() == 503);
  c.wait_closed(2s);
  CHECK(a.next_named("site", 2s));
  CHECK(metric_on_page(server.http_port(), "sunkeep_live_clients_refused_total") == 1);
  CHECK(metric_on_page(server.http_port(), "sunkeep_live_clients") == 2);
}

TEST_CASE("live: with a token the stream needs the header and never takes the token from the URL") {
  TestServer server([](config::Config& c) { c.http.token = "t0ken"; });
  CHECK(SseClient(server.http_port()).status() == 401);
  CHECK(SseClient(server.http_port(), "", "/api/v1/live?token=t0ken").status() == 401);
  CHECK(SseClient(server.http_port(), "Bearer t0ken", "/api/v1/live?token=t0ken").status() == 400);
  SseClient ok(server.http_port(), "Bearer t0ken");
  CHECK(ok.status() == 200);
  CHECK(ok.next_named("site", 2s));
}

TEST_CASE("live: a stalled client is dropped while devices keep their ack latency and another client keeps up") {
  TestServer server(quiet_alphaess);
  const auto port = server.http_port();
  FakeDevice device(server.port());
  std::vector<double> before_ms;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    check_ack(device.exchange(16, push_json(i, i)), 16);
    before_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  SseClient stalled(port, "", "/api/v1/live", 4096);  // connected, never read
  SseClient reader(port);
  std::atomic<int> read_device_events = 0;
  std::atomic<bool> reading = true;
  std::thread reading_thread([&] {
    while (reading) {
      if (auto e = reader.next(100ms); e && e->name == "device") ++read_device_events;
    }
  });
  constexpr int pushes = 400;
  std::vector<double> during_ms;
  for (int i = 20; i < 20 + pushes; ++i) {
    const auto start = std::chrono::steady_clock::now();
    check_ack(device.exchange(16, push_json(i, i)), 16);
    during_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  REQUIRE(eventually([&] { return read_device_events == pushes; }, 10s));
  reading = false;
  reading_thread.join();
  CHECK(eventually([&] { return metric_on_page(port, "sunkeep_live_clients_dropped_total") == 1; }, 5s));
  CHECK(stalled.wait_closed(5s));
  std::sort(before_ms.begin(), before_ms.end());
  std::sort(during_ms.begin(), during_ms.end());
  const double median_before = before_ms[before_ms.size() / 2];
  const double median_during = during_ms[during_ms.size() / 2];
  MESSAGE("ack median before ", median_before, " ms, during ", median_during, " ms, max during ", during_ms.back(), " ms");
  CHECK(during_ms.back() < 1000);
  CHECK(median_during < 3 * median_before + 20);
}

TEST_CASE("live: the server stops promptly with streams open, and they end") {
  auto server = std::make_unique<TestServer>();
  SseClient a(server->http_port());
  SseClient b(server->http_port());
  REQUIRE(a.next_named("site", 2s));
  REQUIRE(b.next_named("site", 2s));
  const auto start = std::chrono::steady_clock::now();
  server->stop();
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(a.wait_closed(2s));
  CHECK(b.wait_closed(2s));
}

TEST_CASE("live: a quiet stream gets a keepalive comment after 15 s") {
  TestServer server;
  SseClient live(server.http_port());
  REQUIRE(live.next_named("site", 2s));
  const auto start = std::chrono::steady_clock::now();
  const auto comment = live.next(17s);
  REQUIRE(comment);
  CHECK(comment->name.empty());
  CHECK(comment->data == " keepalive");
  CHECK(std::chrono::steady_clock::now() - start >= 14s);
}
