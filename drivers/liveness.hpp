// When each polled device last gave data, for `online` (interfaces.md §3): a device is online while
// its last data is within 3 × its expected interval, and offline at once when its driver forgets
// it (an ECU found unreachable, an inverter that refused the login). Written by the driver's tasks,
// read by the API's threads.
#pragma once

#include "common/civil_time.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace sunkeep::drivers {

class DeviceLiveness {
 public:
  void heard(const std::string& serial, UtcMillis when, std::chrono::milliseconds expected_interval);
  void forget(const std::string& serial);
  [[nodiscard]] bool online(const std::string& serial, UtcMillis now) const;

 private:
  struct Heard {
    UtcMillis when = 0;
    std::chrono::milliseconds interval{0};
  };
  mutable std::mutex mutex_;
  std::map<std::string, Heard> heard_;
};

}  // namespace sunkeep::drivers
