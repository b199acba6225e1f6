// Site flows per bucket and site energy per period, over the stored history.
#include "api/site_queries.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace sunkeep::api {

namespace {

using storage::HistoryReader;
using storage::Point;

// Counters are read this much at a time (a month of 10-second values is about 270,000 points).
constexpr std::int64_t energy_chunk_ms = 31LL * 24 * 3600 * 1000;

// The stored series `metric` of device `id` ("<vendor>:<serial>"), if both exist.
std::optional<std::int64_t> series_id(HistoryReader& history, const std::string& id, const std::string& metric) {
  const std::size_t colon = id.find(':');
  if (colon == std::string::npos) return std::nullopt;
  const auto device = history.device(id.substr(0, colon), id.substr(colon + 1));
  if (!device) return std::nullopt;
  const auto series = history.series(device->id, metric);
  if (!series) return std::nullopt;
  return series->id;
}

// Where reading a series for `edges` starts: the period holding its first point (nothing
// before it is stored), never before the first edge; nullopt when it has no point at all.
std::optional<UtcMillis> read_from(HistoryReader& history, std::int64_t series, const std::vector<UtcMillis>& edges) {
  const auto first = history.first_time(series);
  if (!first) return std::nullopt;
  const auto after = std::upper_bound(edges.begin(), edges.end(), *first);
  return after == edges.begin() ? edges.front() : *(after - 1);
}

// One counter's amounts per period, read a chunk at a time with an hour of look-ahead. Reading
// starts an hour before the first period, so the glitch rule judges the values around its start
// as it does everywhere else (a day alone counts what it counts within a month).
std::vector<site::PeriodAmount> counter_amounts(HistoryReader& history, std::int64_t series,
                                                const std::vector<UtcMillis>& edges) {
  site::CounterRises rises(edges);
  const auto start = read_from(history, series, edges);
  if (!start) return rises.periods();
  const UtcMillis lead = *start - site::glitch_window_ms;
  if (const auto before = history.point_before(series, lead)) {
    const Point anchor[] = {*before};
    rises.add(anchor, lead);
  }
  const UtcMillis end = edges.back() + site::glitch_window_ms + 1;
  for (UtcMillis from = lead; from < end; from += energy_chunk_ms) {
    const UtcMillis decide_before = std::min(from + energy_chunk_ms, end);
    const auto points = history.raw_points(series, {from, std::min(decide_before + site::glitch_window_ms + 1, end)});
    rises.add(points, decide_before);
  }
  if (history.has_point_since(series, end)) rises.note_later_value(end);
  return rises.periods();
}

// A counter that resets at local midnight: its last value per local day, from the period of its
// first point on.
std::vector<site::PeriodAmount> daily_amounts(HistoryReader& history, std::int64_t series, const LocalCalendar& calendar,
                                              const std::vector<UtcMillis>& edges) {
  const auto start = read_from(history, series, edges);
  const storage::TimeRange range{start.value_or(edges.back()), edges.back()};
  const auto day_edges = period_edges(calendar, LocalPeriod::day, range);
  LocalDayBuckets days(calendar);
  const auto finals = history.bucketed_points(series, range, std::ref(days), storage::Aggregate::last);
  return site::daily_final_values(finals, day_edges, edges);
}

// The amounts of `metric` of each source, per period. `daily_fallback`: a source without
// `metric` gives its `daily_fallback` counter's final value of each day instead.
site::EnergyCategory category(HistoryReader& history, const std::vector<std::string>& sources, bool known,
                              const std::string& metric, const LocalCalendar& calendar,
                              const std::vector<UtcMillis>& edges, const std::string& daily_fallback = {}) {
  site::EnergyCategory out{.known = known, .counters = {}};
  if (!known) return out;
  for (const auto& id : sources) {
    if (const auto series = series_id(history, id, metric)) {
      out.counters.push_back(counter_amounts(history, *series, edges));
    } else if (const auto daily = daily_fallback.empty() ? std::nullopt : series_id(history, id, daily_fallback)) {
      out.counters.push_back(daily_amounts(history, *daily, calendar, edges));
    } else {
      out.source_without_counter = true;
    }
  }
  return out;
}

}  // namespace

std::vector<Point> site_flow_points(HistoryReader& history, const site::FlowRecipe& flow, storage::TimeRange range,
                                    const HistoryReader::BucketOf& bucket_of, storage::Aggregate agg) {
  if (!flow.known) return {};
  std::map<UtcMillis, std::vector<std::optional<double>>> buckets;
  for (std::size_t i = 0; i < flow.parts.size(); ++i) {
    const auto series = series_id(history, flow.parts[i].device, flow.parts[i].metric);
    if (!series) return {};  // a part that never reported this metric: no bucket has all parts
    for (const auto& p : history.bucketed_points(*series, range, bucket_of, agg)) {
      auto& values = buckets[p.t];
      values.resize(flow.parts.size());
      values[i] = p.value;
    }
  }
  std::vector<Point> out;
  for (auto& [start, values] : buckets) {
    values.resize(flow.parts.size());
    if (const auto v = site::combine(flow, values)) out.push_back({start, *v});
  }
  return out;
}

std::vector<UtcMillis> period_edges(const LocalCalendar& calendar, LocalPeriod period, storage::TimeRange range) {
  std::vector<UtcMillis> edges{calendar.start_of(range.from, period)};
  while (edges.back() < range.to) edges.push_back(calendar.next_start(edges.back(), period));
  return edges;
}

std::vector<site::EnergyRow> site_energy(HistoryReader& history, const site::SiteSources& sources,
                                         const LocalCalendar& calendar, const std::vector<UtcMillis>& edges,
                                         UtcMillis now) {
  const bool grid = !sources.grid_unknown && !sources.grid.empty();
  const site::EnergyInputs inputs{
      .produced = category(history, sources.pv, !sources.pv.empty(), "pv_energy_total", calendar, edges, "pv_energy_today"),
      .imported = category(history, sources.grid, grid, "grid_import_energy_total", calendar, edges),
      .exported = category(history, sources.grid, grid, "grid_export_energy_total", calendar, edges),
      .charged = category(history, sources.battery, !sources.battery.empty(), "battery_charge_energy_total", calendar, edges),
      .discharged =
          category(history, sources.battery, !sources.battery.empty(), "battery_discharge_energy_total", calendar, edges),
      .grid_unknown = sources.grid_unknown};
  return site::energy_rows(inputs, edges, now);
}

}  // namespace sunkeep::api
