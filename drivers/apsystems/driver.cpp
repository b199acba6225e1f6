// The APsystems driver.
#include "drivers/apsystems/driver.hpp"

#include "drivers/apsystems/ecu_poll.hpp"
#include "storage/history.hpp"
#include "storage/sqlite.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace sunkeep::drivers {

ApsystemsDriver::ApsystemsDriver(server::DriverHost& host)
    : host_(host), shared_(host.config.apsystems, host.observations, host.metrics) {
  if (!shared_.config.enabled || shared_.config.ecus.empty()) return;
  try {
    remember_lifetimes();
  } catch (const std::exception& e) {
    spdlog::warn("apsystems: the ECUs' last lifetime energy could not be read ({}); the first value is the baseline", e.what());
  }
}

void ApsystemsDriver::remember_lifetimes() {
  storage::Connection db(host_.database_path, storage::Connection::Mode::read_only);
  storage::HistoryReader history(db, &host_.writer.recent());
  for (const auto& device : history.devices()) {
    if (device.vendor != apsystems::vendor_name) continue;
    for (const auto& latest : history.latest(device.id)) {
      if (latest.series.name == "lifetime_energy") shared_.stored_lifetime_kwh[device.serial] = latest.point.value;
    }
  }
}

void ApsystemsDriver::start() {
  if (!shared_.config.enabled) return;
  for (const auto& ecu : shared_.config.ecus) spawn_ecu_poll(host_.io, host_.tasks, ecu, shared_);
}

bool ApsystemsDriver::online(const std::string& serial, UtcMillis /*last_seen*/, UtcMillis now) const {
  return shared_.liveness.online(serial, now);
}

}  // namespace sunkeep::drivers
