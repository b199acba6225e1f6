// A device driver: everything of one vendor behind one interface (its listeners and pollers, its
// config section, its counters, its reporting interval, its view of raw frames). The server holds
// the drivers the registry list (drivers/registry.cpp) makes and knows them only through this.
#pragma once

#include "api/api.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "server/observations.hpp"
#include "server/task_group.hpp"
#include "storage/history.hpp"
#include "storage/writer.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::server {

// What the server lends a driver.
struct DriverHost {
  const config::Config& config;
  boost::asio::io_context& io;
  TaskGroup& tasks;                    // every coroutine the driver starts
  ObservationCommitter& observations;  // the one ingest path
  storage::Writer& writer;             // other storage jobs (refused connections)
  metrics::Registry& metrics;          // every counter the driver keeps
  const std::string& database_path;    // for reading what a previous run stored, at start
};

class Driver {
 public:
  virtual ~Driver() = default;

  // The vendor part of device ids ("<vendor>:<serial>").
  [[nodiscard]] virtual std::string_view vendor() const = 0;
  // The vendor's name as people write it (its brand), for Home Assistant's device names.
  [[nodiscard]] virtual std::string_view manufacturer() const { return vendor(); }
  // Starts its accept loops and pollers as tasks of DriverHost::tasks (listeners are bound when
  // the driver is made, so a port in use fails the start with a clear error).
  virtual void start() = 0;
  // Whether a connection to the device is open now.
  [[nodiscard]] virtual bool connected(const std::string& serial) const = 0;
  // How often its devices normally report: a device is online while data arrives within 3 × this.
  [[nodiscard]] virtual std::chrono::milliseconds expected_interval() const = 0;
  // interfaces.md §3 `online` for one of its devices, `last_seen` being when anything of it was
  // last stored: a connection open now, or data within 3 × the expected interval. A driver whose
  // devices differ in cadence, or whose exchanges that carry no data must not count, says so here.
  [[nodiscard]] virtual bool online(const std::string& serial, UtcMillis last_seen, UtcMillis now) const {
    return api::seen_within(last_seen, now, expected_interval().count()) || connected(serial);
  }
  // The port its listener is bound to (0 when it has none): tests bind port 0 and ask.
  [[nodiscard]] virtual std::uint16_t port() const { return 0; }
  // A stored frame as the API may show it (personal data hidden unless `show_personal`).
  [[nodiscard]] virtual std::vector<std::uint8_t> display_frame(std::span<const std::uint8_t> raw,
                                                                bool /*show_personal*/) const {
    return {raw.begin(), raw.end()};
  }
  // Connections it refused per peer and reason, newest first (health lists them).
  [[nodiscard]] virtual std::vector<storage::RejectionItem> rejections() const { return {}; }
};

using DriverFactory = std::function<std::unique_ptr<Driver>(DriverHost&)>;

}  // namespace sunkeep::server
