// The first output sink: the newest value and sample time of every metric of every device, with
// what the device object shows (model, firmware, last seen, clock offset), kept in memory from the
// committed observations and rebuilt from the database at start. /metrics renders from it without
// a query; MQTT and the live stream subscribe to it and get a copy of each device an observation
// changed, after the counter guard. Thread-safe: the sink's thread writes, readers visit under a shared lock.
#pragma once

#include "common/device_state.hpp"
#include "server/energy_guard.hpp"
#include "server/sinks.hpp"
#include "storage/history.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace sunkeep::server {

using ::sunkeep::DeviceState;
using ::sunkeep::DeviceStates;
using ::sunkeep::DeviceUpdate;
using ::sunkeep::LatestValue;
using ::sunkeep::LatestValuesSubscriber;

class LatestValues final : public Sink, public DeviceStates {
 public:
  using SaveGuard = std::function<void(std::vector<storage::CounterGuardRow>)>;
  static constexpr std::chrono::seconds guard_save_interval{60};

  // Lifetime counters go through `guard`; its changes are handed to `save_guard` at most once a
  // guard_save_interval (and by save_guard_now()).
  explicit LatestValues(EnergyGuard& guard, SaveGuard save_guard = {})
      : guard_(guard), save_guard_(std::move(save_guard)) {}

  // The devices and latest values stored, and the guard's saved state. `cadence_ms`: for values
  // read back from the database, whose cadence was not stored, the vendor's reporting interval.
  void load(storage::HistoryReader& history, const std::function<std::int64_t(const std::string&)>& cadence_ms);
  // Hands the guard's unsaved changes to the save function (at shutdown).
  void save_guard_now();
  // From now on `subscriber` hears of every device each observation updates; it gets every
  // device known so far at once. Before the sink is added to the hub (not thread-safe).
  void subscribe(std::shared_ptr<LatestValuesSubscriber> subscriber);

  [[nodiscard]] std::string_view name() const override { return "latest_values"; }
  void consume(const Observation& observation) override;

  // Calls `read` with every device, under the shared lock (keep it short: the sink waits).
  void read(const std::function<void(const Devices&)>& read) const override;
  [[nodiscard]] std::optional<DeviceState> device(const std::string& vendor, const std::string& serial) const;

 private:
  DeviceState& state_of(const std::string& vendor, const std::string& serial);
  // Takes in a committed observation (under the lock).
  void apply(const Observation& seen);
  // `replayed`: read back from the database at start, not new.
  void offer(DeviceState& device, const Reading& reading, UtcMillis time, UtcMillis arrived, std::int64_t cadence_ms,
             bool replayed = false);

  // Copies of the devices `seen` touched, with their new events.
  std::vector<DeviceUpdate> updates_of(const Observation& seen) const;

  EnergyGuard& guard_;
  SaveGuard save_guard_;
  std::vector<std::shared_ptr<LatestValuesSubscriber>> subscribers_;
  std::chrono::steady_clock::time_point next_guard_save_{};
  mutable std::shared_mutex mutex_;
  Devices devices_;
};

}  // namespace sunkeep::server
