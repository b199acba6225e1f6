// The AlphaESS driver: the listener devices connect to on TCP 7777 as to the cloud, a session per
// connection, and the view of AlphaESS frames the API shows (alphaess.md).
#pragma once

#include "drivers/alphaess/session.hpp"
#include "protocol/alphaess/observation.hpp"
#include "server/driver.hpp"
#include "server/listener.hpp"

#include <memory>
#include <optional>

namespace sunkeep::drivers {

class AlphaEssDriver final : public server::Driver {
 public:
  explicit AlphaEssDriver(server::DriverHost& host);

  [[nodiscard]] std::string_view vendor() const override { return alphaess::vendor_name; }
  [[nodiscard]] std::string_view manufacturer() const override { return "AlphaESS"; }
  void start() override;
  [[nodiscard]] bool connected(const std::string& serial) const override { return shared_.registry.bound(serial); }
  [[nodiscard]] std::chrono::milliseconds expected_interval() const override;
  [[nodiscard]] std::uint16_t port() const override { return listener_ ? listener_->port() : 0; }
  [[nodiscard]] std::vector<std::uint8_t> display_frame(std::span<const std::uint8_t> raw,
                                                        bool show_personal) const override;
  [[nodiscard]] std::vector<storage::RejectionItem> rejections() const override;
  [[nodiscard]] AlphaEssCounters& counters() { return shared_.counters; }
  // Its listener's caps (nullptr while disabled).
  [[nodiscard]] const server::ConnectionLimiter* limiter() const { return listener_ ? &listener_->limiter() : nullptr; }

 private:
  server::DriverHost& host_;
  AlphaEssShared shared_;
  std::optional<server::Listener> listener_;
};

}  // namespace sunkeep::drivers
