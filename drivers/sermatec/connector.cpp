// Local-mode connections to Sermatec inverters.
#include "drivers/sermatec/connector.hpp"

#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <random>

namespace sunkeep::drivers {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using server::tuple_awaitable;

namespace {

// A connected socket, or nullopt after a failed resolve/connect or the connect timeout. The socket
// lives on the calling task's strand, where its session runs and is closed.
awaitable<std::optional<tcp::socket>> connect_to(const config::SermatecInverter& inverter,
                                                 std::chrono::milliseconds timeout) {
  server::Connected connected = co_await server::connect_within(inverter.host, inverter.port, timeout);
  if (!connected.socket) spdlog::info("sermatec local {}:{}: connect failed: {}", inverter.host, inverter.port, connected.error);
  co_return std::move(connected.socket);
}

// Connects, runs a session until it ends, waits (backing off while the inverter does not identify
// itself), again, until cancelled.
awaitable<void> poll_inverter(config::SermatecInverter inverter, SermatecShared& shared) {
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  asio::steady_timer wait(co_await asio::this_coro::executor);
  auto backoff = shared.timing.backoff_first;
  while (true) {
    auto socket = co_await connect_to(inverter, shared.timing.connect_timeout);
    if (socket) {
      auto session = std::make_shared<SermatecSession>(std::move(*socket), shared, SermatecOrigin::local);
      ++shared.counters.local_connections_open;
      const bool identified = co_await session->run();
      --shared.counters.local_connections_open;
      if (identified) backoff = shared.timing.backoff_first;
    }
    if (co_await server::TaskGroup::cancelled()) break;
    wait.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(backoff.count()) * jitter(random))));
    auto waited = co_await wait.async_wait(tuple_awaitable);
    if (std::get<0>(waited)) break;  // cancelled: shutting down
    backoff = std::min(backoff * 2, shared.timing.backoff_max);
  }
}

}  // namespace

void spawn_sermatec_connector(asio::io_context& io, server::TaskGroup& tasks, const config::SermatecInverter& inverter,
                              SermatecShared& shared) {
  tasks.spawn(asio::make_strand(io), poll_inverter(inverter, shared),
              "sermatec local " + inverter.host + ":" + std::to_string(inverter.port));
}

}  // namespace sunkeep::drivers
