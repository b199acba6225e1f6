// The latest-values cache.
#include "server/latest_values.hpp"

#include <algorithm>
#include <mutex>

namespace sunkeep::server {

// The newest sample time wins; at an equal time the first value stays, as in storage.
void LatestValues::offer(DeviceState& device, const Reading& reading, UtcMillis time, UtcMillis arrived,
                         std::int64_t cadence_ms, bool replayed) {
  auto [it, added] = device.metrics.try_emplace(reading.name);
  LatestValue& kept = it->second;
  if (!added && time <= kept.time) return;
  kept = {.value = reading.value, .unit = reading.unit, .canonical = reading.canonical, .time = time,
          .arrived = arrived, .cadence_ms = cadence_ms, .exposed = std::nullopt};
  if (!reading.canonical || !EnergyGuard::guards(reading.name)) return;
  // A value read back at start was judged before: the guard's saved state stands.
  const auto judged = replayed ? guard_.exposed(device.vendor, device.serial, reading.name) : std::nullopt;
  kept.exposed = judged ? *judged : guard_.admit(device.vendor, device.serial, reading.name, reading.value, time);
}

DeviceState& LatestValues::state_of(const std::string& vendor, const std::string& serial) {
  DeviceState& state = devices_[vendor + ":" + serial];
  if (state.serial.empty()) {
    state.vendor = vendor;
    state.serial = serial;
  }
  return state;
}

void LatestValues::load(storage::HistoryReader& history,
                        const std::function<std::int64_t(const std::string&)>& cadence_ms) {
  const std::unique_lock lock(mutex_);
  guard_.load(history.counter_guards());
  for (const auto& row : history.devices()) {
    DeviceState& state = state_of(row.vendor, row.serial);
    state.model = row.model;
    state.firmware = row.firmware;
    if (row.parent_vendor && row.parent_serial) state.parent = *row.parent_vendor + ":" + *row.parent_serial;
    state.first_seen = row.first_seen;
    state.last_seen = row.last_seen;
    state.peer = row.peer;
    state.clock_offset_ms = row.clock_offset_ms;
    const std::int64_t cadence = cadence_ms(row.vendor);
    for (const auto& latest : history.latest(row.id)) {
      offer(state, {latest.series.name, latest.series.unit, latest.point.value, latest.series.canonical},
            latest.point.t, latest.point.t, cadence, true);
    }
  }
}

void LatestValues::save_guard_now() {
  std::vector<storage::CounterGuardRow> changes;
  {
    const std::unique_lock lock(mutex_);
    changes = guard_.take_changes();
  }
  if (save_guard_ && !changes.empty()) save_guard_(std::move(changes));
}

void LatestValues::consume(const Observation& seen) {
  if (seen.serial.empty()) return;  // no device named yet: nothing to show
  if (const auto now = std::chrono::steady_clock::now(); now >= next_guard_save_) {
    next_guard_save_ = now + guard_save_interval;
    save_guard_now();
  }
  {
    const std::unique_lock lock(mutex_);
    apply(seen);
  }
  if (subscribers_.empty()) return;
  auto updates = updates_of(seen);
  for (std::size_t i = 0; i + 1 < subscribers_.size(); ++i) subscribers_[i]->updated(updates);
  subscribers_.back()->updated(std::move(updates));
}

void LatestValues::apply(const Observation& seen) {
  DeviceState& device = state_of(seen.vendor, seen.serial);
  if (device.first_seen == 0) device.first_seen = seen.received;
  if (!seen.peer.empty()) device.peer = seen.peer;
  if (seen.model) device.model = seen.model;
  if (seen.firmware) device.firmware = seen.firmware;
  if (seen.parent) device.parent = seen.vendor + ":" + *seen.parent;
  device.last_seen = std::max(device.last_seen, seen.received);
  if (seen.clock_offset_ms) device.clock_offset_ms = seen.clock_offset_ms;
  for (const auto& reading : seen.readings) offer(device, reading, seen.received, seen.received, seen.cadence_ms);
  for (const auto& record : seen.records) {
    if (record.outcome != RecordOutcome::inserted) continue;
    DeviceState& owner = record.serial.empty() || record.serial == seen.serial ? device : state_of(seen.vendor, record.serial);
    owner.last_seen = std::max(owner.last_seen, seen.received);
    if (owner.first_seen == 0) owner.first_seen = seen.received;
    for (const auto& reading : record.readings) offer(owner, reading, record.utc, seen.received, seen.cadence_ms);
  }
}

std::vector<DeviceUpdate> LatestValues::updates_of(const Observation& seen) const {
  std::vector<std::string> ids{seen.device_id()};
  for (const auto& record : seen.records) {
    if (record.outcome != RecordOutcome::inserted || record.serial.empty()) continue;
    const std::string id = seen.vendor + ":" + record.serial;
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  std::vector<DeviceUpdate> updates;
  const std::shared_lock lock(mutex_);
  for (const auto& id : ids) {
    const auto it = devices_.find(id);
    if (it == devices_.end()) continue;
    DeviceUpdate update{std::make_shared<const DeviceState>(it->second), {}};
    if (id == seen.device_id()) {
      for (const auto& event : seen.events) {
        if (event.stored) update.events.push_back(event);
      }
    }
    updates.push_back(std::move(update));
  }
  return updates;
}

void LatestValues::subscribe(std::shared_ptr<LatestValuesSubscriber> subscriber) {
  std::vector<DeviceUpdate> everything;
  {
    const std::shared_lock lock(mutex_);
    for (const auto& [id, state] : devices_) everything.push_back({std::make_shared<const DeviceState>(state), {}});
  }
  subscriber->updated(std::move(everything));
  subscribers_.push_back(std::move(subscriber));
}

void LatestValues::read(const std::function<void(const Devices&)>& read) const {
  const std::shared_lock lock(mutex_);
  read(devices_);
}

std::optional<DeviceState> LatestValues::device(const std::string& vendor, const std::string& serial) const {
  const std::shared_lock lock(mutex_);
  const auto it = devices_.find(vendor + ":" + serial);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

}  // namespace sunkeep::server
