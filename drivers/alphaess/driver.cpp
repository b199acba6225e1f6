// The AlphaESS driver.
#include "drivers/alphaess/driver.hpp"

#include "protocol/alphaess/observation.hpp"
#include "protocol/alphaess/redaction.hpp"
#include "storage/history.hpp"

#include <spdlog/spdlog.h>

namespace sunkeep::drivers {

namespace {

// The refused connections stored so far, for health to list from memory.
void load_rejections(const std::string& database_path, server::RejectionSummary& summary) {
  storage::Connection db(database_path, storage::Connection::Mode::read_only);
  storage::HistoryReader history(db);
  summary.load(history.rejections());
}

}  // namespace

AlphaEssDriver::AlphaEssDriver(server::DriverHost& host)
    : host_(host), shared_(host.config.alphaess, host.observations, host.writer, host.metrics) {
  load_rejections(host.database_path, shared_.counters.rejection_summary);
  if (!host.config.alphaess.enabled) return;
  listener_.emplace(host.io, host.config.alphaess.listen, "AlphaESS devices",
                    server::ConnectionLimiter::create("alphaess", host.config.alphaess.limits, &host.metrics));
}

void AlphaEssDriver::start() {
  if (!listener_) return;
  spdlog::info("AlphaESS device clock zone {}", host_.config.alphaess.timezone);
  listener_->start(host_.tasks, [this](boost::asio::ip::tcp::socket socket, std::shared_ptr<const void> slot) {
    AlphaEssSession::start(std::make_shared<AlphaEssSession>(std::move(socket), shared_), host_.tasks, std::move(slot));
  });
}

std::chrono::milliseconds AlphaEssDriver::expected_interval() const {
  return std::chrono::milliseconds(alphaess::cadence_ms(alphaess::RecordKind::realtime));
}

std::vector<std::uint8_t> AlphaEssDriver::display_frame(std::span<const std::uint8_t> raw, bool show_personal) const {
  return alphaess::display_copy(raw, show_personal);
}

std::vector<storage::RejectionItem> AlphaEssDriver::rejections() const {
  return shared_.counters.rejection_summary.newest_first();
}

}  // namespace sunkeep::drivers
