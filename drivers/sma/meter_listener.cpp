// Listening to the SMA Energy Meters.
#include "drivers/sma/meter_listener.hpp"

#include "protocol/sma/meter.hpp"
#include "protocol/sma/observation.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"
#include "storage/history.hpp"
#include "storage/sqlite.hpp"

#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace sunkeep::drivers {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::udp;

namespace {

const auto multicast_group = asio::ip::make_address_v4("239.12.255.254");
constexpr std::chrono::milliseconds meter_interval{1000};  // a meter sends about once a second

#ifdef SO_REUSEPORT
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
#endif

}  // namespace

SmaMeterListener::SmaMeterListener(asio::io_context& io, SmaShared& shared)
    : shared_(shared), socket_(asio::make_strand(io)), gate_(shared.config.energy_meter_interval) {
  const auto& listen = shared.config.energy_meter_listen;
  const udp::endpoint endpoint(asio::ip::make_address(listen.host), listen.port);
  boost::system::error_code error;
  socket_.open(endpoint.protocol(), error);
  if (!error) socket_.set_option(udp::socket::reuse_address(true), error);
#ifdef SO_REUSEPORT
  if (!error) socket_.set_option(reuse_port(true), error);
#endif
  if (!error) socket_.bind(endpoint, error);
  if (error) {
    throw std::runtime_error("cannot listen for SMA energy meters on UDP " + listen.to_string() + ": " + error.message());
  }
  port_ = socket_.local_endpoint().port();
  join_group();
}

void SmaMeterListener::join_group() {
  const std::string& interface = shared_.config.interface;
  boost::system::error_code error;
  if (!socket_.local_endpoint().address().is_v4()) {
    spdlog::warn("sma: the meter listener is on IPv6 ({}); the multicast group 239.12.255.254 is IPv4: only "
                 "datagrams sent to this host directly will arrive",
                 shared_.config.energy_meter_listen.to_string());
    return;
  }
  const auto local = interface.empty() ? asio::ip::address_v4::any() : asio::ip::make_address_v4(interface, error);
  if (!error) socket_.set_option(asio::ip::multicast::join_group(multicast_group, local), error);
  if (!error) socket_.set_option(asio::ip::multicast::enable_loopback(false), error);
  if (error) {
    spdlog::warn("sma: cannot join the meter multicast group 239.12.255.254 on interface {}: {}; only datagrams sent "
                 "to this host directly will arrive",
                 interface.empty() ? "(system default)" : interface, error.message());
  }
}

void SmaMeterListener::remember_counters(const std::string& database_path, const storage::RecentSamples* recent) {
  storage::Connection db(database_path, storage::Connection::Mode::read_only);
  storage::HistoryReader history(db, recent);
  for (const auto& device : history.devices()) {
    if (device.vendor != sma::vendor_name) continue;
    for (const auto& latest : history.latest(device.id)) {
      const Reading stored{latest.series.name, latest.series.unit, latest.point.value, latest.series.canonical};
      if (stored.canonical && sma::is_meter_counter(stored)) gate_.remember(device.serial, stored.name, stored.value);
    }
  }
}

void SmaMeterListener::start(server::TaskGroup& tasks) {
  spdlog::info("sma: listening for energy meters on UDP {}", shared_.config.energy_meter_listen.to_string());
  tasks.spawn(socket_.get_executor(), run(), "sma energy meters");
}

awaitable<void> SmaMeterListener::run() {
  udp::endpoint sender;
  while (true) {
    auto received = co_await socket_.async_receive_from(asio::buffer(buffer_), sender, server::tuple_awaitable);
    const auto error = std::get<0>(received);
    if (error == asio::error::operation_aborted || co_await server::TaskGroup::cancelled()) break;
    if (error) {
      if (shared_.log_once.first("sma-meter-read:" + error.message())) spdlog::warn("sma: meter socket: {}", error.message());
      continue;
    }
    const std::string from = server::endpoint_text(sender.address(), sender.port());
    co_await on_datagram(std::span<const std::uint8_t>(buffer_.data(), std::get<1>(received)), from);
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
}

awaitable<void> SmaMeterListener::on_datagram(std::span<const std::uint8_t> datagram, const std::string& sender) {
  auto& counters = shared_.counters;
  const auto meter = sma::decode_meter(datagram);
  if (!meter) {
    // Inverter traffic and discovery of other clients on the LAN share the port: not ours to read.
    const auto protocol = sma::protocol_of(datagram);
    if (!protocol) {
      ++counters.malformed;
      if (shared_.log_once.first("sma-meter-malformed:" + sender)) spdlog::info("sma: a datagram from {} dropped: {}", sender, meter.error());
    } else {
      ++counters.other_protocol;
    }
    co_return;
  }
  const std::string serial = std::to_string(meter->sender.serial);
  if (!seen_.contains(serial) && seen_.size() >= max_meters) {
    ++counters.other_protocol;
    if (shared_.log_once.first("sma-meter-cap")) spdlog::warn("sma: more than {} meters heard; sma:{} and later ones are ignored", max_meters, serial);
    co_return;
  }
  ++counters.frames_received;
  const UtcMillis now = server::now_ms();
  shared_.liveness.heard(serial, now, meter_interval);
  sma::MeterReadings readings = sma::meter_readings(*meter);
  if (seen_.insert(serial).second) spdlog::info("sma: {} sma:{} heard from {}", readings.model, serial, sender);
  auto passed = gate_.offer(serial, std::move(readings.readings), now);
  if (!passed) {
    ++counters.meter_thinned;
    co_return;
  }
  ++counters.meter_stored;
  Observation seen{.vendor = std::string(sma::vendor_name),
                   .serial = serial,
                   .peer = sender,
                   .received = now,
                   .cadence_ms = shared_.config.energy_meter_interval.count(),
                   .model = readings.model,
                   .firmware = readings.firmware};
  seen.frames.push_back(sma::archived(datagram, FrameDirection::from_device));
  seen.readings = std::move(passed->readings);
  seen.events = std::move(passed->events);
  for (const auto& event : seen.events) spdlog::warn("sma: meter sma:{}: {}", serial, event.text.value_or(""));
  const server::Committed committed = co_await shared_.observations.commit(std::move(seen));
  if (committed.error) {
    ++counters.commit_failures;
    spdlog::error("sma: meter sma:{}: not stored: {}", serial, committed.error.message());
  }
}

}  // namespace sunkeep::drivers
