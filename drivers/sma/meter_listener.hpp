// The Energy Meter / Sunny Home Manager listener (sma-speedwire.md §9.2, §9.5): a UDP socket bound
// to `energy_meter_listen` with address and port reuse, joined to 239.12.255.254 on `interface`.
// It never sends. Each meter's datagrams go through the MeterGate (one stored sample per
// `energy_meter_interval`, decreasing counters held back) and every stored one is archived raw.
#pragma once

#include "drivers/sma/shared.hpp"
#include "protocol/sma/meter_gate.hpp"
#include "server/task_group.hpp"
#include "storage/recent_samples.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <span>
#include <string>

namespace sunkeep::drivers {

class SmaMeterListener {
 public:
  static constexpr std::size_t max_datagram = 2048;
  // A home has one or two; a flood of made-up serials must not grow memory and the database.
  static constexpr std::size_t max_meters = 64;

  // Binds the socket; throws std::runtime_error naming the address when that fails. A failed
  // multicast join is only a warning: unicast datagrams still arrive.
  SmaMeterListener(boost::asio::io_context& io, SmaShared& shared);

  // Takes each meter's lifetime counters as last stored (from `database_path`) as the baselines
  // of the decreasing-counter check, so that a meter reset while sunkeep was down is caught.
  void remember_counters(const std::string& database_path, const storage::RecentSamples* recent);
  void start(server::TaskGroup& tasks);
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  void join_group();
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> on_datagram(std::span<const std::uint8_t> datagram, const std::string& sender);

  SmaShared& shared_;
  boost::asio::ip::udp::socket socket_;
  std::uint16_t port_ = 0;
  sma::MeterGate gate_;
  std::set<std::string> seen_;  // meters heard since start, for the first log line
  std::array<std::uint8_t, max_datagram> buffer_{};
};

}  // namespace sunkeep::drivers
