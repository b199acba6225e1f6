// The Sermatec driver: the listener inverters connect to on TCP 19042 as to the cloud, and the
// local-mode connections to inverters on their LAN port; both poll the inverter (sermatec.md §6).
#pragma once

#include "drivers/sermatec/session.hpp"
#include "server/driver.hpp"
#include "server/listener.hpp"

#include <memory>
#include <optional>

namespace sunkeep::drivers {

class SermatecDriver final : public server::Driver {
 public:
  SermatecDriver(server::DriverHost& host, SermatecTiming timing);

  [[nodiscard]] std::string_view vendor() const override { return sermatec::vendor_name; }
  [[nodiscard]] std::string_view manufacturer() const override { return "Sermatec"; }
  void start() override;
  [[nodiscard]] bool connected(const std::string& serial) const override;
  [[nodiscard]] std::chrono::milliseconds expected_interval() const override { return shared_.config.poll_interval; }
  [[nodiscard]] std::uint16_t port() const override { return listener_ ? listener_->port() : 0; }
  [[nodiscard]] SermatecCounters& counters() { return shared_.counters; }

 private:
  server::DriverHost& host_;
  SermatecShared shared_;
  std::optional<server::Listener> listener_;
};

}  // namespace sunkeep::drivers
