// The latest-values sink, the lifetime-counter guard (mqtt.md §3.3) and the /metrics page built
// from them, with invented times: freshness per metric (interfaces.md §4), online per device,
// counters held back while they dip, released after 24 h below, and the guard's state kept.
#include "server/energy_guard.hpp"
#include "server/latest_values.hpp"
#include "server/metrics_page.hpp"
#include "storage/ingest.hpp"
#include "storage/schema.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace sunkeep;
using namespace sunkeep::server;

namespace {

constexpr UtcMillis t0 = 1'750'000'000'000;
constexpr std::int64_t hour_ms = 3'600'000;

// Every device online while `connected` says so, reporting every 10 s.
struct FakeLive final : api::LiveStatus {
  bool open = false;
  [[nodiscard]] bool connected(const std::string&, const std::string&) const override { return open; }
  [[nodiscard]] std::int64_t expected_interval_ms(const std::string&) const override { return 10'000; }
};

Observation polled(UtcMillis at, std::vector<Reading> readings, std::int64_t cadence_ms = 10'000) {
  return {.vendor = "acme", .serial = "X1", .peer = "127.0.0.1:1", .received = at, .cadence_ms = cadence_ms,
          .readings = std::move(readings)};
}

bool has_line_starting(const std::string& page, const std::string& start) {
  return page.starts_with(start) || page.find("\n" + start) != std::string::npos;
}

const std::string x1 = R"({device="acme:X1",vendor="acme"})";

}  // namespace

TEST_CASE("latest values: a gauge is shown while fresh and its device online, a lifetime counter whenever known") {
  metrics::Registry registry;
  EnergyGuard guard(registry);
  LatestValues latest(guard);
  FakeLive live;
  MetricsPage page(registry, latest, live);
  latest.consume(polled(t0, {{"pv_power", "W", 2310, true}, {"pv_energy_total", "kWh", 12.5, true},
                             {"Ppv1", "W", 2310, false}}));

  const std::string fresh = page.metrics_text(t0 + 29'000);
  CHECK(has_line_starting(fresh, "sunkeep_pv_power_watts" + x1 + " 2310"));
  CHECK(has_line_starting(fresh, "sunkeep_pv_energy_joules_total" + x1 + " 45000000"));
  CHECK(has_line_starting(fresh, "sunkeep_device_up" + x1 + " 1"));
  CHECK(fresh.find("Ppv1") == std::string::npos);  // vendor names are not exported

  const std::string stale = page.metrics_text(t0 + 31'000);  // beyond 3 × 10 s
  CHECK_FALSE(has_line_starting(stale, "sunkeep_pv_power_watts"));
  CHECK(has_line_starting(stale, "sunkeep_device_up" + x1 + " 0"));
  CHECK(has_line_starting(stale, "sunkeep_pv_energy_joules_total" + x1 + " 45000000"));

  live.open = true;  // online through its connection, but the value is still stale
  CHECK_FALSE(has_line_starting(page.metrics_text(t0 + 31'000), "sunkeep_pv_power_watts"));
}

TEST_CASE("latest values: freshness is per metric, by its own cadence, and backfill never replaces newer values") {
  metrics::Registry registry;
  EnergyGuard guard(registry);
  LatestValues latest(guard);
  latest.consume(polled(t0, {{"battery_voltage", "V", 52.1, true}}, 300'000));  // a 5-minute record
  latest.consume(polled(t0 + 10'000, {{"pv_power", "W", 100, true}}));
  Observation backfill = polled(t0 + 20'000, {});
  backfill.records.push_back({.kind = 3, .readings = {{"pv_power", "W", 7, true}}, .utc = t0 - hour_ms,
                              .outcome = RecordOutcome::inserted});
  latest.consume(backfill);

  const auto device = latest.device("acme", "X1");
  REQUIRE(device);
  const LatestValue& voltage = device->metrics.at("battery_voltage");
  CHECK(voltage.fresh(t0 + 14 * 60'000));
  CHECK_FALSE(voltage.fresh(t0 + 16 * 60'000));
  CHECK(device->metrics.at("pv_power").value == 100);  // the older backfilled sample is stored, not shown
  CHECK(device->last_seen == t0 + 20'000);
}

TEST_CASE("energy guard: a dip is held back and counted, the counter goes on once it recovers") {
  metrics::Registry registry;
  EnergyGuard guard(registry);
  CHECK(guard.admit("acme", "X1", "grid_import_energy_total", 100, t0) == 100);
  CHECK(guard.admit("acme", "X1", "grid_import_energy_total", 0, t0 + 10'000) == 100);  // the typical glitch
  CHECK(guard.admit("acme", "X1", "grid_import_energy_total", 0, t0 + 20'000) == 100);
  CHECK(guard.admit("acme", "X1", "grid_import_energy_total", 100.5, t0 + 30'000) == 100.5);
  CHECK(registry.counter("sunkeep_energy_regressions_total", "",
                         {{"device", "acme:X1"}, {"vendor", "acme"}, {"metric", "grid_import_energy_total"}})
            .value() == 2);
  CHECK(EnergyGuard::guards("pv_energy_total"));
  CHECK_FALSE(EnergyGuard::guards("pv_energy_today"));  // may drop at midnight, published as is
}

TEST_CASE("energy guard: every value below for 24 h is a real reset, and the state survives a restart") {
  test::TempDir dir;
  std::vector<storage::CounterGuardRow> saved;
  {
    metrics::Registry registry;
    EnergyGuard guard(registry);
    guard.admit("acme", "X1", "pv_energy_total", 5000, t0);
    CHECK(guard.admit("acme", "X1", "pv_energy_total", 3, t0 + hour_ms) == 5000);  // a replaced meter
    CHECK(guard.admit("acme", "X1", "pv_energy_total", 4, t0 + 24 * hour_ms) == 5000);
    saved = guard.take_changes();
    CHECK(guard.take_changes().empty());
  }
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].below_since == t0 + hour_ms);
  {
    storage::Connection db(dir.file("sunkeep.db"));
    storage::migrate(db);
    storage::Store store(db);
    Observation device = polled(t0, {});
    storage::ingest(store, device);
    store.save_counter_guard("acme", "X1", "pv_energy_total", saved[0].exposed, saved[0].below_since);
  }
  storage::Connection db(dir.file("sunkeep.db"), storage::Connection::Mode::read_only);
  storage::HistoryReader history(db);
  metrics::Registry registry;
  EnergyGuard guard(registry);
  guard.load(history.counter_guards());
  CHECK(guard.exposed("acme", "X1", "pv_energy_total") == 5000);
  CHECK(guard.admit("acme", "X1", "pv_energy_total", 5, t0 + 25 * hour_ms + 1) == 5);  // 24 h below since t0 + 1 h
}
