// The site model (dashboard.md §1) with invented devices and times: local days and months across
// DST, default and configured sources, the two-meter case, flows from fresh values only, and the
// counter rules of site energy (glitches, resets, chunks, completeness). Hand-computed values.
#include "common/local_calendar.hpp"
#include "site/energy.hpp"
#include "site/model.hpp"

#include <doctest/doctest.h>

#include <limits>

#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::site;

namespace {

constexpr std::int64_t hour = 3'600'000;
constexpr std::int64_t day = 24 * hour;
constexpr UtcMillis now = 1'790'000'000'000;

DeviceState device(const std::string& id, std::vector<std::pair<std::string, double>> metrics, UtcMillis arrived = now,
                   std::optional<std::string> parent = std::nullopt) {
  DeviceState d;
  d.vendor = id.substr(0, id.find(':'));
  d.serial = id.substr(id.find(':') + 1);
  d.parent = std::move(parent);
  d.last_seen = arrived;
  for (const auto& [name, value] : metrics) {
    d.metrics[name] = {.value = value, .unit = "W", .canonical = true, .time = arrived, .arrived = arrived,
                       .cadence_ms = 10'000, .exposed = std::nullopt};
  }
  return d;
}

DeviceStates::Devices devices_of(std::vector<DeviceState> list) {
  DeviceStates::Devices out;
  for (auto& d : list) out[d.vendor + ":" + d.serial] = std::move(d);
  return out;
}

std::optional<double> flow(const SiteNow& site, std::string_view name) {
  for (const auto& f : site.flows) {
    if (f.name == name) return f.value;
  }
  FAIL("no flow " << name);
  return std::nullopt;
}

SiteNow site_at(const DeviceStates::Devices& devices, UtcMillis at, const SiteSettings& settings = {}) {
  return site_now(resolve_sources(settings, devices, at), devices, at, [&](const DeviceState& d) { return at - d.last_seen <= 30'000; });
}

}  // namespace

TEST_CASE("site: local days are 23 and 25 hours long across DST, months start at local midnight") {
  const LocalCalendar berlin(TimeZone("Europe/Berlin"));
  const UtcMillis spring_day = 1774738800000;  // 2026-03-29T00:00+01:00
  CHECK(berlin.start_of(spring_day + 5 * hour, LocalPeriod::day) == spring_day);
  CHECK(berlin.next_start(spring_day, LocalPeriod::day) == 1774821600000);  // 23 h later, +02:00
  const UtcMillis autumn_day = 1792879200000;  // 2026-10-25T00:00+02:00
  CHECK(berlin.start_of(autumn_day + 24 * hour + 30 * 60'000, LocalPeriod::day) == autumn_day);  // 23:30 local
  CHECK(berlin.next_start(autumn_day, LocalPeriod::day) == 1792969200000);  // 25 h later
  CHECK(berlin.start_of(spring_day, LocalPeriod::month) == 1772319600000);  // 2026-03-01T00:00+01:00
  CHECK(berlin.next_start(spring_day, LocalPeriod::month) == 1774994400000);  // 2026-04-01T00:00+02:00
  LocalDayBuckets buckets(berlin);
  CHECK(buckets(spring_day + 22 * hour) == spring_day);
  CHECK(buckets(spring_day + 23 * hour) == 1774821600000);
  CHECK(buckets(spring_day - 1) == 1774652400000);  // the day before, 24 h
}

TEST_CASE("site: a repeated midnight starts its month at the earlier instant, a missing one at the first that exists") {
  const LocalCalendar havana(TimeZone("America/Havana"));  // 2026-11-01 00:00–00:59 happens twice
  const UtcMillis november = 1793505600000;                  // 2026-11-01T04:00Z, the first 00:00
  CHECK(havana.start_of(1794744000000, LocalPeriod::month) == november);    // from mid-November
  CHECK(havana.next_start(1792065600000, LocalPeriod::month) == november);  // after mid-October
  CHECK(havana.start_of(november + 30 * 60'000, LocalPeriod::day) == november);
  const LocalCalendar asuncion(TimeZone("America/Asuncion"));  // 2023-10-01: 00:00 jumps to 01:00
  const UtcMillis first_instant = 1696132800000;               // 2023-10-01T04:00Z = 01:00 -03:00
  CHECK(asuncion.start_of(1696161600000, LocalPeriod::day) == first_instant);
  CHECK(asuncion.next_start(first_instant, LocalPeriod::day) == 1696215600000);  // 2023-10-02T03:00Z, 23 h later
}

TEST_CASE("site: default sources are the top-level devices that reported within 7 days") {
  const auto devices = devices_of({
      device("alphaess:A1", {{"pv_power", 1000}, {"grid_power", 200}, {"battery_power", -300}}),
      device("apsystems:ECU1", {{"pv_power", 500}}),
      device("apsystems:INV1", {{"pv_power", 500}}, now, "apsystems:ECU1"),  // under its ECU: never counted
      device("sermatec:OLD", {{"pv_power", 9}}, now - 8 * day),                // retired
  });
  const auto sources = resolve_sources({}, devices, now);
  CHECK(sources.pv == std::vector<std::string>{"alphaess:A1", "apsystems:ECU1"});
  CHECK(sources.grid == std::vector<std::string>{"alphaess:A1"});
  CHECK(sources.battery == std::vector<std::string>{"alphaess:A1"});
  CHECK_FALSE(sources.grid_unknown);
  CHECK(sources.warnings.empty());
  const SiteNow site = site_at(devices, now);
  CHECK(flow(site, "pv_power") == 1500.0);
  CHECK(flow(site, "grid_power") == 200.0);
  CHECK(flow(site, "battery_power") == -300.0);
  CHECK(flow(site, "load_power") == 1400.0);  // 1500 + 200 − 300
  CHECK(site.devices == 3);                   // the inverter under its ECU is not top-level
  CHECK(site.devices_online == 2);
}

TEST_CASE("site: two grid meters and no [site] grid leave the grid unknown, with a warning naming both") {
  const auto devices = devices_of({device("alphaess:A1", {{"pv_power", 1000}, {"grid_power", 200}}),
                                   device("sma:3001", {{"grid_power", 210}})});
  const auto sources = resolve_sources({}, devices, now);
  CHECK(sources.grid.empty());
  CHECK(sources.grid_unknown);
  REQUIRE(sources.warnings.size() == 1);
  CHECK(sources.warnings[0].find("\"alphaess:A1\", \"sma:3001\"") != std::string::npos);
  CHECK(sources.warnings[0].find("[site] grid = [\"alphaess:A1\"]") != std::string::npos);
  const SiteNow site = site_at(devices, now);
  CHECK(flow(site, "pv_power") == 1000.0);
  CHECK_FALSE(flow(site, "grid_power"));
  CHECK_FALSE(flow(site, "load_power"));

  // Settled by the config; a configured id that no device has is a warning, not an error.
  SiteSettings settings;
  settings.grid = {"sma:3001"};
  settings.battery = {"alphaess:NOTYET"};
  const auto settled = resolve_sources(settings, devices, now);
  CHECK(settled.grid == std::vector<std::string>{"sma:3001"});
  REQUIRE(settled.warnings.size() == 1);
  CHECK(settled.warnings[0].find("alphaess:NOTYET") != std::string::npos);
  const SiteNow configured = site_at(devices, now, settings);
  CHECK(flow(configured, "grid_power") == 210.0);
  CHECK_FALSE(flow(configured, "battery_power"));  // its one source has no value
  CHECK_FALSE(flow(configured, "load_power"));     // never a partial sum
}

TEST_CASE("site: a stale source makes its flow null, never a partial sum - no battery means no battery") {
  auto devices = devices_of({device("alphaess:A1", {{"pv_power", 1000}, {"grid_power", -400}}),
                             device("apsystems:ECU1", {{"pv_power", 500}}, now - 40'000)});
  SiteNow site = site_at(devices, now);
  CHECK_FALSE(flow(site, "pv_power"));   // ECU1's value is 40 s old, beyond 3 × 10 s
  CHECK_FALSE(flow(site, "load_power"));
  CHECK(flow(site, "grid_power") == -400.0);
  CHECK_FALSE(flow(site, "battery_power"));  // no battery device: unknown, and 0 in the balance
  CHECK_FALSE(flow(site, "battery_soc"));
  devices["apsystems:ECU1"].metrics["pv_power"].arrived = now - 10'000;
  site = site_at(devices, now);
  CHECK(flow(site, "pv_power") == 1500.0);
  CHECK(flow(site, "load_power") == 1100.0);  // 1500 − 400 + 0
}

TEST_CASE("site: battery_soc is the mean of the battery sources") {
  const auto devices = devices_of({device("alphaess:A1", {{"battery_power", 100}, {"battery_soc", 40}}),
                                   device("alphaess:A2", {{"battery_power", 200}, {"battery_soc", 60}})});
  const SiteNow site = site_at(devices, now);
  CHECK(flow(site, "battery_power") == 300.0);
  CHECK(flow(site, "battery_soc") == 50.0);
  CHECK(site.flows.size() == 5);
}

namespace {

std::vector<PeriodAmount> rises(const std::vector<Point>& points, const std::vector<UtcMillis>& edges) {
  CounterRises counter(edges);
  counter.add(points, std::numeric_limits<UtcMillis>::max());
  return counter.periods();
}

}  // namespace

TEST_CASE("site energy: rises are summed per period, a value at an edge ends the period before it") {
  const std::vector<UtcMillis> edges{0, 10 * hour, 20 * hour};
  const auto p = rises({{-hour, 100}, {5 * hour, 101.5}, {10 * hour, 102}, {15 * hour, 104}, {21 * hour, 105}}, edges);
  REQUIRE(p.size() == 2);
  CHECK(p[0].amount == doctest::Approx(2.0));  // 100 → 101.5 → 102 (the value at 10 h)
  CHECK(p[1].amount == doctest::Approx(2.0));  // 102 → 104; 105 at 21 h is after the end
  CHECK(p[0].value_at_start);
  CHECK(p[1].value_at_end);
  CHECK(p[0].has_data);
}

TEST_CASE("site energy: a lone value at midnight makes no data of the day it ends, nor of the day it starts") {
  const std::vector<UtcMillis> edges{0, day, 2 * day, 3 * day};
  const auto p = rises({{day, 5}, {2 * day, 5}, {2 * day + hour, 6}}, edges);
  CHECK_FALSE(p[0].has_data);  // 5 at its end, with nothing before it
  CHECK(p[1].has_data);        // 5 → 5 ends it: a day of no rise, but of data
  CHECK(p[1].amount == 0);
  CHECK(p[2].has_data);
  CHECK(p[2].amount == doctest::Approx(1.0));
  const auto gap = rises({{0, 1}, {day, 2}, {3 * day, 4}}, {0, day, 2 * day, 3 * day, 4 * day});
  CHECK(gap[0].has_data);
  CHECK_FALSE(gap[1].has_data);  // only the value at its start: left out
  CHECK(gap[2].has_data);        // its energy shows in the day the next value ends
  CHECK(gap[2].amount == doctest::Approx(2.0));
}

TEST_CASE("site energy: a dip back within the hour is a glitch, a drop that stays is a reset") {
  const std::vector<UtcMillis> edges{0, day};
  // Glitch: 50 read as 0 for a moment, back to 50.2 within the hour.
  auto p = rises({{0, 50}, {hour, 0}, {hour + 600'000, 50.2}, {2 * hour, 51}}, edges);
  CHECK(p[0].amount == doctest::Approx(1.0));
  // Reset: the counter starts again from 0.5 and never comes back within the hour; only rises count.
  p = rises({{0, 50}, {hour, 50.5}, {2 * hour, 0.5}, {3 * hour, 0.8}, {4 * hour, 2.0}}, edges);
  CHECK(p[0].amount == doctest::Approx(0.5 + 1.5));
  // A glitch's look-ahead stops at one hour: back at 50 after 61 minutes is a reset then a rise.
  p = rises({{0, 50}, {hour, 10}, {2 * hour + 60'000, 50}}, edges);
  CHECK(p[0].amount == doctest::Approx(40.0));
}

TEST_CASE("site energy: counters fed in chunks with an hour of look-ahead give what one pass gives") {
  const std::vector<UtcMillis> edges{0, day, 2 * day, 3 * day};
  std::vector<Point> points;
  double value = 10;
  for (UtcMillis t = 0; t <= 3 * day + hour; t += 300'000) {
    value += 0.01;
    const bool glitch = t % (5 * hour) == 0 && t > 0;
    const bool reset = t == day + 7 * hour;
    if (reset) value = 0.1;
    points.push_back({t, glitch ? 0.0 : value});
  }
  const auto whole = rises(points, edges);
  CounterRises chunked(edges);
  const UtcMillis chunk = 7 * hour;
  for (UtcMillis from = 0; from <= 3 * day + hour; from += chunk) {
    std::vector<Point> part;
    for (const auto& p : points) {
      if (p.t >= from && p.t < from + chunk + hour + 1) part.push_back(p);
    }
    chunked.add(part, from + chunk);
  }
  const auto pieces = chunked.periods();
  REQUIRE(pieces.size() == whole.size());
  for (std::size_t k = 0; k < whole.size(); ++k) CHECK(pieces[k].amount == doctest::Approx(whole[k].amount));
  CHECK(whole[0].amount == doctest::Approx(288 * 0.01));  // a day of 5-minute rises, glitches skipped
}

TEST_CASE("site energy: rows add up, the period in progress and a period without edge values are incomplete") {
  const std::vector<UtcMillis> edges{0, day, 2 * day, 3 * day};
  const auto counter = [&](std::vector<Point> points) {
    EnergyCategory c{.known = true, .counters = {rises(points, edges)}};
    return c;
  };
  EnergyInputs in{
      .produced = counter({{0, 0}, {day, 10}, {2 * day, 18}}),
      .imported = counter({{0, 0}, {day, 2}, {2 * day, 3}}),
      .exported = counter({{0, 0}, {day, 5}, {2 * day, 5}}),
      .charged = counter({{0, 0}, {day, 3}, {2 * day, 4}}),
      .discharged = counter({{0, 0}, {day, 1}, {2 * day, 2}}),
      .grid_unknown = false};
  auto rows = energy_rows(in, edges, 2 * day + hour);
  REQUIRE(rows.size() == 2);  // the third day has no data at all: left out
  CHECK(rows[0].produced == 10.0);
  CHECK(rows[0].consumed == doctest::Approx(10 + 2 - 5 + 1 - 3));
  CHECK(*rows[0].self_sufficiency == doctest::Approx(1 - 2.0 / 5));
  CHECK(rows[0].complete);
  CHECK(rows[1].start == day);
  CHECK(rows[1].consumed == doctest::Approx(8 + 1 - 0 + 1 - 1));
  CHECK(rows[1].complete);  // values at both edges
  rows = energy_rows(in, edges, 2 * day - 1);
  CHECK_FALSE(rows[1].complete);  // still in progress
  EnergyInputs late = in;
  late.charged = counter({{day + hour, 0}, {2 * day, 1}});  // no value at or before the second day's start
  rows = energy_rows(late, edges, 3 * day);
  CHECK_FALSE(rows[1].complete);
  CHECK(rows[0].complete == false);  // nor before the first's

  EnergyInputs missing = in;
  missing.imported.source_without_counter = true;  // a grid source that stores no import counter
  rows = energy_rows(missing, edges, 3 * day);
  CHECK_FALSE(rows[0].imported);
  CHECK_FALSE(rows[0].consumed);
  CHECK_FALSE(rows[0].self_sufficiency);
  CHECK(rows[0].produced == 10.0);
  CHECK_FALSE(rows[0].complete);

  in.grid_unknown = true;
  in.imported.known = in.exported.known = false;
  rows = energy_rows(in, edges, 3 * day);
  CHECK_FALSE(rows[0].imported);
  CHECK_FALSE(rows[0].consumed);
  CHECK_FALSE(rows[0].self_sufficiency);
  CHECK(rows[0].produced == 10.0);
}

TEST_CASE("site energy: a source with only a daily counter gives each day's final value") {
  const std::vector<UtcMillis> day_edges{0, day, 2 * day, 3 * day};
  const std::vector<UtcMillis> one_period{0, 3 * day};
  const std::vector<Point> finals{{0, 4.5}, {2 * day, 6.0}};  // day 2 has no value
  const auto p = daily_final_values(finals, day_edges, one_period);
  REQUIRE(p.size() == 1);
  CHECK(p[0].amount == doctest::Approx(10.5));
  CHECK(p[0].has_data);
  CHECK_FALSE(p[0].value_at_start);  // a day without a value: not complete
  const auto per_day = daily_final_values(finals, day_edges, day_edges);
  CHECK(per_day[0].amount == 4.5);
  CHECK_FALSE(per_day[1].has_data);
  CHECK(per_day[2].value_at_end);
}
