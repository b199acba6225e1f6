// The lifetime-counter guard of mqtt.md §3.3, in front of /metrics and MQTT alike: per device and
// `*_energy_total` metric the last exposed value L. A value at or above L is exposed; one below
// is held back (counted in sunkeep_energy_regressions_total, logged once per episode) until every
// value for 24 h has been below L: then the counter was really reset and the new value goes out.
// Storage and the API keep the raw values. Not thread-safe: LatestValues calls it under its lock.
#pragma once

#include "common/metrics.hpp"
#include "storage/history.hpp"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace sunkeep::server {

class EnergyGuard {
 public:
  static constexpr std::int64_t reset_after_ms = 24LL * 60 * 60 * 1000;

  explicit EnergyGuard(metrics::Registry& metrics) : metrics_(metrics) {}

  // Whether `metric` is a lifetime counter the guard watches.
  static bool guards(std::string_view metric);

  // The state a previous run saved.
  void load(const std::vector<storage::CounterGuardRow>& rows);
  // The value to expose after a new sample `value` at sample time `time` (the newest sample of
  // that metric): `value` itself, or the last exposed value while `value` is held back.
  double admit(const std::string& vendor, const std::string& serial, const std::string& metric, double value,
               UtcMillis time);
  // The value exposed last, if any.
  [[nodiscard]] std::optional<double> exposed(const std::string& vendor, const std::string& serial,
                                              const std::string& metric) const;
  // The states changed since the last call, to save.
  std::vector<storage::CounterGuardRow> take_changes();

 private:
  struct State {
    double exposed = 0;
    std::optional<UtcMillis> below_since;  // the sample time of the first value below `exposed`
    bool changed = false;
  };
  using Key = std::tuple<std::string, std::string, std::string>;  // vendor, serial, metric

  void note_regression(const Key& key, State& state, double value, UtcMillis time);

  metrics::Registry& metrics_;
  std::map<Key, State> states_;
};

}  // namespace sunkeep::server
