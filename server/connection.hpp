// Pieces every device connection shares: naming the peer, spawning the session coroutine with
// its errors logged, closing the socket, and a write bounded by a timeout.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>

namespace sunkeep::server {

// Completion token for the server's coroutines: errors come back as values, never as exceptions.
inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

enum class WriteResult { written, timed_out, failed };

// "address:port" of the peer ("[v6]:port"), and the bare address in `host`.
std::string peer_text(const boost::asio::ip::tcp::socket& socket, std::string& host);

// Shuts the socket down and closes it; errors are irrelevant at that point.
void close_socket(boost::asio::ip::tcp::socket& socket);

// Writes all of `bytes`, giving up after `timeout`.
boost::asio::awaitable<WriteResult> write_within(boost::asio::ip::tcp::socket& socket, boost::asio::steady_timer& timer,
                                                 boost::asio::const_buffer bytes, std::chrono::milliseconds timeout);

// Runs `session->run()` on the socket's strand; an exception escaping it is logged, never
// propagated (one connection's bug must not take the server down). `slot` (the connection's place
// under the listener's caps, connection_limiter.hpp) is held until run() has returned.
template <class Session>
void spawn_session(const std::shared_ptr<Session>& session, const char* vendor, std::shared_ptr<const void> slot = {}) {
  boost::asio::co_spawn(session->executor(), session->run(),
                        [session, vendor, slot = std::move(slot)](const std::exception_ptr& error, auto...) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: session ended by an internal error: {}", vendor, session->who(), e.what());
    }
  });
}

}  // namespace sunkeep::server
