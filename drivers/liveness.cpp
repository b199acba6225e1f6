// Device liveness.
#include "drivers/liveness.hpp"

#include "api/api.hpp"

namespace sunkeep::drivers {

void DeviceLiveness::heard(const std::string& serial, UtcMillis when, std::chrono::milliseconds expected_interval) {
  std::lock_guard lock(mutex_);
  heard_[serial] = Heard{when, expected_interval};
}

void DeviceLiveness::forget(const std::string& serial) {
  std::lock_guard lock(mutex_);
  heard_.erase(serial);
}

bool DeviceLiveness::online(const std::string& serial, UtcMillis now) const {
  std::lock_guard lock(mutex_);
  const auto it = heard_.find(serial);
  return it != heard_.end() && api::seen_within(it->second.when, now, it->second.interval.count());
}

}  // namespace sunkeep::drivers
