// What of a meter's datagrams is stored (sma-speedwire.md §9.5): at most one sample per meter per
// `energy_meter_interval`, and a lifetime counter that went down is held back (the datagram's
// other values are stored) with a `counter_decreased` event, until the lower value has lasted an
// hour and becomes the new baseline. Pure: times are passed in; the baselines of a previous run
// are handed over with remember().
#pragma once

#include "common/civil_time.hpp"
#include "common/observation.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::sma {

class MeterGate {
 public:
  explicit MeterGate(std::chrono::milliseconds interval,
                     std::chrono::milliseconds new_baseline_after = std::chrono::hours(1))
      : interval_(interval), new_baseline_after_(new_baseline_after) {}

  struct Passed {
    std::vector<Reading> readings;  // without held-back counters
    std::vector<DeviceEvent> events;
  };

  // A counter's last stored value from before a restart: the baseline until a reading moves it.
  void remember(const std::string& serial, const std::string& counter, double value);

  // The readings of meter `serial`'s datagram at `now`: nullopt when one was stored less than an
  // interval ago; else what to store.
  std::optional<Passed> offer(const std::string& serial, std::vector<Reading> readings, UtcMillis now);

 private:
  struct Counter {
    double baseline = 0;
    std::optional<UtcMillis> below_since;
  };
  struct Meter {
    std::optional<UtcMillis> stored;
    std::map<std::string, Counter> counters;
  };

  // Whether the counter reading passes; adds the event when it first goes down.
  bool check_counter(Meter& meter, const Reading& reading, UtcMillis now, std::vector<DeviceEvent>& events) const;

  std::chrono::milliseconds interval_;
  std::chrono::milliseconds new_baseline_after_;
  std::map<std::string, Meter> meters_;
};

}  // namespace sunkeep::sma
