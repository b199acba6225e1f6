// The Sermatec driver.
#include "drivers/sermatec/driver.hpp"

#include "drivers/sermatec/connector.hpp"

#include <spdlog/spdlog.h>

namespace sunkeep::drivers {

SermatecDriver::SermatecDriver(server::DriverHost& host, SermatecTiming timing)
    : host_(host), shared_(host.config.sermatec, host.observations, timing, host.metrics) {
  if (!host.config.sermatec.enabled) return;
  listener_.emplace(host.io, host.config.sermatec.listen, "Sermatec inverters",
                    server::ConnectionLimiter::create("sermatec", host.config.sermatec.limits, &host.metrics));
}

void SermatecDriver::start() {
  if (!listener_) return;
  listener_->start(host_.tasks, [this](boost::asio::ip::tcp::socket socket, std::shared_ptr<const void> slot) {
    SermatecSession::start(std::make_shared<SermatecSession>(std::move(socket), shared_, SermatecOrigin::cloud),
                           host_.tasks, std::move(slot));
  });
  for (const auto& inverter : shared_.config.inverters) {
    spdlog::info("polling Sermatec inverter {}:{} (local mode)", inverter.host, inverter.port);
    spawn_sermatec_connector(host_.io, host_.tasks, inverter, shared_);
  }
}

bool SermatecDriver::connected(const std::string& serial) const { return shared_.registry.bound("serial:" + serial); }

}  // namespace sunkeep::drivers
