// The APsystems driver (apsystems-ecu.md §11): each configured ECU polled on TCP 8899, one
// connection per command, the ECUs in parallel. The ECU is device apsystems:<ECU-ID>, each of its
// inverters apsystems:<UID> with the ECU as parent. No redirect is involved: sunkeep asks.
#pragma once

#include "drivers/apsystems/shared.hpp"
#include "protocol/apsystems/codec.hpp"
#include "server/driver.hpp"

namespace sunkeep::drivers {

class ApsystemsDriver final : public server::Driver {
 public:
  explicit ApsystemsDriver(server::DriverHost& host);

  [[nodiscard]] std::string_view vendor() const override { return apsystems::vendor_name; }
  [[nodiscard]] std::string_view manufacturer() const override { return "APsystems"; }
  void start() override;
  // No connection stays open longer than one command.
  [[nodiscard]] bool connected(const std::string& /*serial*/) const override { return false; }
  [[nodiscard]] std::chrono::milliseconds expected_interval() const override { return shared_.config.poll_interval; }
  // An ECU while it answered within 3 × poll_interval and is not unreachable; an inverter while
  // its ECU's last real-time reply, within 3 × poll_interval, said it is online.
  [[nodiscard]] bool online(const std::string& serial, UtcMillis last_seen, UtcMillis now) const override;

  [[nodiscard]] ApsystemsCounters& counters() { return shared_.counters; }

 private:
  void remember_lifetimes();

  server::DriverHost& host_;
  ApsystemsShared shared_;
};

}  // namespace sunkeep::drivers
