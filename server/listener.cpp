// Listening and admitting connections.
#include "server/listener.hpp"

#include "server/connection.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace sunkeep::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto accept_failure_pause = std::chrono::milliseconds(100);

tcp::acceptor bind_acceptor(asio::io_context& io, const config::Endpoint& where, const std::string& what) {
  const tcp::endpoint endpoint(asio::ip::make_address(where.host), where.port);
  tcp::acceptor acceptor(asio::make_strand(io));
  try {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen for " + what + " on " + where.to_string() + ": " + e.code().message());
  }
  return acceptor;
}

}  // namespace

Listener::Listener(asio::io_context& io, const config::Endpoint& where, std::string what,
                   std::shared_ptr<ConnectionLimiter> limiter)
    : io_(io),
      what_(std::move(what)),
      host_(where.host),
      acceptor_(bind_acceptor(io, where, what_)),
      port_(acceptor_.local_endpoint().port()),
      limiter_(std::move(limiter)) {}

void Listener::start(TaskGroup& tasks, OnAccept on_accept) {
  spdlog::info("listening for {} on {}", what_, config::Endpoint{host_, port_}.to_string());
  tasks.spawn(acceptor_.get_executor(), accept_loop(std::move(on_accept)), "accepting " + what_);
}

asio::awaitable<void> Listener::accept_loop(OnAccept on_accept) {
  asio::steady_timer pause(acceptor_.get_executor());
  while (true) {
    // (std::get, not structured bindings, on awaited results: g++ 12 has miscompiled those.)
    auto accepted = co_await acceptor_.async_accept(asio::make_strand(io_), tuple_awaitable);
    const boost::system::error_code ec = std::get<0>(accepted);
    if (ec == asio::error::operation_aborted || co_await TaskGroup::cancelled()) break;
    if (ec) {
      // Out of descriptors or similar: wait a little instead of spinning.
      spdlog::warn("accepting {} failed: {}", what_, ec.message());
      pause.expires_after(accept_failure_pause);
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    tcp::socket socket = std::move(std::get<1>(accepted));
    auto slot = limiter_->admit(peer_name(socket).host);
    if (!slot) {
      close_socket(socket);  // beyond a cap: closed at once
      continue;
    }
    on_accept(std::move(socket), std::move(slot));
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace sunkeep::server
