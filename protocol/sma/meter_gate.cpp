// Which meter samples are stored.
#include "protocol/sma/meter_gate.hpp"

#include "protocol/sma/observation.hpp"

#include <cstdio>

namespace sunkeep::sma {

void MeterGate::remember(const std::string& serial, const std::string& counter, double value) {
  meters_[serial].counters.try_emplace(counter, Counter{value, std::nullopt});
}

std::optional<MeterGate::Passed> MeterGate::offer(const std::string& serial, std::vector<Reading> readings,
                                                  UtcMillis now) {
  Meter& meter = meters_[serial];
  if (meter.stored && now - *meter.stored < interval_.count() && now >= *meter.stored) return std::nullopt;
  meter.stored = now;
  Passed passed;
  for (Reading& reading : readings) {
    if (is_meter_counter(reading) && !check_counter(meter, reading, now, passed.events)) continue;
    passed.readings.push_back(std::move(reading));
  }
  return passed;
}

bool MeterGate::check_counter(Meter& meter, const Reading& reading, UtcMillis now,
                              std::vector<DeviceEvent>& events) const {
  auto [it, first] = meter.counters.try_emplace(reading.name, Counter{reading.value, std::nullopt});
  Counter& counter = it->second;
  if (first || reading.value >= counter.baseline) {
    counter.baseline = reading.value;
    counter.below_since.reset();
    return true;
  }
  if (!counter.below_since) {
    counter.below_since = now;
    char text[160];
    std::snprintf(text, sizeof text, "%s went down from %.4f to %.4f kWh; not stored until it lasts %lld min",
                  reading.name.c_str(), counter.baseline, reading.value,
                  static_cast<long long>(new_baseline_after_.count() / 60000));
    DeviceEvent event;
    event.source = "sma";
    event.code = "counter_decreased";
    event.text = text;
    events.push_back(std::move(event));
    return false;
  }
  if (now - *counter.below_since < new_baseline_after_.count()) return false;
  counter.baseline = reading.value;  // the lower value lasted: it is the new baseline
  counter.below_since.reset();
  return true;
}

}  // namespace sunkeep::sma
