// The SMA Speedwire driver (sma-speedwire.md §9): the inverters polled over UDP 9522 and the
// Energy Meters heard on the LAN. No redirect is involved: sunkeep asks, or listens.
#pragma once

#include "drivers/sma/meter_listener.hpp"
#include "drivers/sma/shared.hpp"
#include "protocol/sma/packet.hpp"
#include "server/driver.hpp"

#include <optional>

namespace sunkeep::drivers {

class SmaDriver final : public server::Driver {
 public:
  explicit SmaDriver(server::DriverHost& host);

  [[nodiscard]] std::string_view vendor() const override { return sma::vendor_name; }
  [[nodiscard]] std::string_view manufacturer() const override { return "SMA"; }
  void start() override;
  // Nothing stays connected over UDP.
  [[nodiscard]] bool connected(const std::string& /*serial*/) const override { return false; }
  [[nodiscard]] std::chrono::milliseconds expected_interval() const override { return shared_.config.poll_interval; }
  // An inverter while it answers data queries (identify and login alone do not count), a meter
  // while its datagrams arrive (about one a second).
  [[nodiscard]] bool online(const std::string& serial, UtcMillis last_seen, UtcMillis now) const override;
  // The meter listener's port.
  [[nodiscard]] std::uint16_t port() const override { return meters_ ? meters_->port() : 0; }
  [[nodiscard]] SmaCounters& counters() { return shared_.counters; }

 private:
  // sunkeep's serial on the bus: random in 900000000–999999999, made once and kept in the database.
  std::uint32_t source_serial();

  server::DriverHost& host_;
  SmaShared shared_;
  std::optional<SmaMeterListener> meters_;
};

}  // namespace sunkeep::drivers
