// A TCP listener, device or HTTP alike: bound when made (an error naming what it is for and the
// address when it cannot be), then one accept loop, a task of the TaskGroup, admits each
// connection under its ConnectionLimiter (beyond a cap it is closed at once) and hands it over
// with its slot. Cancelling the task closes the listener.
#pragma once

#include "config/values.hpp"
#include "server/connection_limiter.hpp"
#include "server/task_group.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sunkeep::server {

class Listener {
 public:
  // A connection admitted, with its place under the caps to hold while it lasts.
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket, std::shared_ptr<const void> slot)>;

  Listener(boost::asio::io_context& io, const config::Endpoint& where, std::string what,
           std::shared_ptr<ConnectionLimiter> limiter);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Logs where it listens and starts accepting.
  void start(TaskGroup& tasks, OnAccept on_accept);
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const ConnectionLimiter& limiter() const { return *limiter_; }

 private:
  boost::asio::awaitable<void> accept_loop(OnAccept on_accept);

  boost::asio::io_context& io_;
  std::string what_;
  std::string host_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<ConnectionLimiter> limiter_;
};

}  // namespace sunkeep::server
