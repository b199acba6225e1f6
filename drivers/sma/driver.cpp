// The SMA driver.
#include "drivers/sma/driver.hpp"

#include "drivers/sma/inverters.hpp"
#include "storage/history.hpp"
#include "storage/sqlite.hpp"

#include <boost/asio/bind_executor.hpp>
#include <spdlog/spdlog.h>

#include <random>
#include <stdexcept>

namespace sunkeep::drivers {

namespace {

constexpr const char* source_serial_key = "sma.source_serial";
constexpr std::uint32_t min_source_serial = 900000000;
constexpr std::uint32_t max_source_serial = 999999999;

std::optional<std::uint32_t> stored_source_serial(const std::string& database_path) {
  storage::Connection db(database_path, storage::Connection::Mode::read_only);
  storage::HistoryReader history(db, nullptr);
  const auto text = history.setting(source_serial_key);
  if (!text) return std::nullopt;
  try {
    const auto value = std::stoul(*text);
    if (value >= min_source_serial && value <= max_source_serial) return static_cast<std::uint32_t>(value);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

SmaDriver::SmaDriver(server::DriverHost& host) : host_(host), shared_(host.config.sma, host.observations, host.metrics) {
  if (!shared_.config.enabled || !shared_.config.energy_meter) return;
  // On by default for everyone: a port another program holds must not stop the server.
  try {
    meters_.emplace(host.io, shared_);
  } catch (const std::runtime_error& e) {
    spdlog::error("sma: {}; energy meters are not heard", e.what());
    return;
  }
  try {
    meters_->remember_counters(host.database_path, &host.writer.recent());
  } catch (const std::exception& e) {
    spdlog::warn("sma: the meters' last counters could not be read ({}); the first value heard is the baseline", e.what());
  }
}

void SmaDriver::start() {
  if (!shared_.config.enabled) return;
  if (meters_) meters_->start(host_.tasks);
  if (!shared_.config.inverters.empty() || shared_.config.discovery) {
    spawn_sma_inverter_poller(host_.io, host_.tasks, shared_, source_serial());
  }
}

bool SmaDriver::online(const std::string& serial, UtcMillis /*last_seen*/, UtcMillis now) const {
  return shared_.liveness.online(serial, now);
}

std::uint32_t SmaDriver::source_serial() {
  if (const auto stored = stored_source_serial(host_.database_path)) return *stored;
  std::mt19937 random(std::random_device{}());
  const auto serial = std::uniform_int_distribution<std::uint32_t>(min_source_serial, max_source_serial)(random);
  storage::Writer::Job save = [serial](storage::Store& store) {
    store.save_setting(source_serial_key, std::to_string(serial));
  };
  host_.writer.async_commit(std::move(save), boost::asio::bind_executor(host_.io.get_executor(), [](boost::system::error_code error) {
    if (error) spdlog::warn("sma: sunkeep's bus serial was not saved: {}", error.message());
  }));
  return serial;
}

}  // namespace sunkeep::drivers
