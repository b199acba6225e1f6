// Site energy per period (dashboard.md §1), pure: the rises of a lifetime counter attributed to
// local days or months, glitches skipped and resets counted only for what they rise, and the
// rows of /api/v1/site/energy made from them. Points are fed in time order, a chunk at a time,
// so a year of 10-second values never has to be held at once.
#pragma once

#include "common/civil_time.hpp"
#include "site/model.hpp"
#include "storage/sample_block.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sunkeep::site {

using storage::Point;

// A drop is a glitch, not a reset, when a value within this long after it is back at or above
// its predecessor.
inline constexpr std::int64_t glitch_window_ms = 3600 * 1000;

// What one counter gave one period.
struct PeriodAmount {
  double amount = 0;
  bool has_data = false;        // a value inside, or one ending it after another
  bool value_at_start = false;  // a value at or before the start
  bool value_at_end = false;    // a value at or after the end
};

// The increase of one lifetime counter per period: the sum of the rises between consecutive
// values from the last value at or before a period's start to the last at or before its end.
class CounterRises {
 public:
  // `edges`: the periods' starts in order and the end of the last (at least two).
  explicit CounterRises(std::vector<UtcMillis> edges);

  // Takes the values of `points` (in time order) before `decide_before`; the ones at or after it
  // only look ahead for the glitch rule and must come again in the next call. The first call
  // should start with the last value before the first period, when there is one.
  void add(std::span<const Point> points, UtcMillis decide_before);
  // Notes that a value exists at `t`, after all the values added (it adds nothing).
  void note_later_value(UtcMillis t) { last_ = t; }
  // Per period, what the values taken so far give.
  [[nodiscard]] std::vector<PeriodAmount> periods() const;

 private:
  // Whether the drop to points[i] is a glitch: a later value within the window is back at or
  // above the value before it.
  [[nodiscard]] bool glitch(std::span<const Point> points, std::size_t i) const;
  void note_presence(UtcMillis t);
  void attribute(UtcMillis t, double rise);

  std::vector<UtcMillis> edges_;
  std::vector<PeriodAmount> periods_;  // amount and has_data
  std::optional<Point> previous_;      // the last value accepted
  std::optional<UtcMillis> first_, last_;  // the times of the first and last values taken
};

// A counter that resets at local midnight (pv_energy_today): each local day gives its final
// value. `day_finals`: per day that has values, its start and its last value (one bucket of the
// day buckets); `day_edges`: every local day's start and the end of the last; `period_edges`: the
// periods (days or months) the days are summed into. A period counts as having values at its
// edges when every one of its days has a value.
std::vector<PeriodAmount> daily_final_values(std::span<const Point> day_finals, std::span<const UtcMillis> day_edges,
                                             std::span<const UtcMillis> period_edges);

// One category of a row (produced, imported, …): the amounts of each of its source counters.
struct EnergyCategory {
  bool known = false;  // false: no device could give it, or the grid is unknown
  std::vector<std::vector<PeriodAmount>> counters;  // per counter, per period
  // A source of it stores no such counter: its total is unknown (never a partial sum).
  bool source_without_counter = false;
};

struct EnergyRow {
  UtcMillis start = 0;
  std::optional<double> produced, consumed, imported, exported, charged, discharged, self_sufficiency;
  bool complete = false;
};

struct EnergyInputs {
  EnergyCategory produced, imported, exported, charged, discharged;
  bool grid_unknown = false;
};

// The rows of the periods between `edges` that have any data, in kWh. A period ending after
// `now` is never complete.
std::vector<EnergyRow> energy_rows(const EnergyInputs& inputs, std::span<const UtcMillis> edges, UtcMillis now);

}  // namespace sunkeep::site
