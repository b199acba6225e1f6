// A device as the outputs see it: the newest value and sample time of each of its metrics, and
// what its device object shows. Kept by the latest-values sink (server/latest_values.hpp) and
// handed, as copies, to the outputs that follow it (MQTT).
#pragma once

#include "common/observation.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep {

struct LatestValue {
  double value = 0;
  std::string unit;
  bool canonical = false;
  UtcMillis time = 0;          // its sample time
  UtcMillis arrived = 0;       // when sunkeep received it
  std::int64_t cadence_ms = 0;  // how often its device reports it
  // A lifetime counter's value as /metrics and MQTT expose it, after the counter guard.
  std::optional<double> exposed;

  // interfaces.md §4: arrived within 3 × its cadence (it is the newest by sample time, as kept).
  [[nodiscard]] bool fresh(UtcMillis now) const { return now - arrived <= 3 * cadence_ms; }
};

struct DeviceState {
  std::string vendor;
  std::string serial;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
  std::optional<std::string> parent;  // "<vendor>:<serial>"
  std::optional<std::string> peer;    // "address:port" it last came from
  UtcMillis first_seen = 0;
  UtcMillis last_seen = 0;
  std::optional<std::int64_t> clock_offset_ms;
  std::map<std::string, LatestValue, std::less<>> metrics;
};

// One device as a committed observation left it, for the outputs that follow the latest values
// (MQTT): a copy, read without a lock.
struct DeviceUpdate {
  std::shared_ptr<const DeviceState> state;
  std::vector<DeviceEvent> events;  // the observation's newly stored events of this device
};

// Every device as the latest-values sink holds it, by id, for readers that answer from memory
// (/metrics, the site). Thread-safe: `read` runs under the keeper's shared lock, so keep it short.
class DeviceStates {
 public:
  using Devices = std::map<std::string, DeviceState>;
  virtual ~DeviceStates() = default;
  virtual void read(const std::function<void(const Devices&)>& read) const = 0;
};

class LatestValuesSubscriber {
 public:
  virtual ~LatestValuesSubscriber() = default;
  // On the latest-values thread, after each observation: hands over and returns at once.
  virtual void updated(std::vector<DeviceUpdate> updates) = 0;
};

}  // namespace sunkeep
