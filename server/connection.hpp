// Pieces every device connection shares: naming the peer, opening and closing the socket, and a
// write bounded by a timeout.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sunkeep::server {

// Completion token for the server's coroutines: errors come back as values, never as exceptions.
inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

enum class WriteResult { written, timed_out, failed };

// Who is at the other end: "address:port" ("[v6]:port") for logs and the archive, and the bare
// address that connection caps and refusals are counted by ("unknown" for both when the socket
// has no peer any more).
struct PeerName {
  std::string text;
  std::string host;
};
PeerName peer_name(const boost::asio::ip::tcp::socket& socket);
// "address:port", "[v6]:port": how a peer is written in logs and the archive.
std::string endpoint_text(const boost::asio::ip::address& address, std::uint16_t port);

// A connection opened to `host`:`port` within `timeout` (the name resolved and the connection made
// within it), on the calling task's executor; or none, with why in `error`.
struct Connected {
  std::optional<boost::asio::ip::tcp::socket> socket;
  std::string error;
};
boost::asio::awaitable<Connected> connect_within(const std::string& host, std::uint16_t port,
                                                 std::chrono::milliseconds timeout);

// Shuts the socket down and closes it; errors are irrelevant at that point.
void close_socket(boost::asio::ip::tcp::socket& socket);

// Writes all of `bytes`, giving up after `timeout`.
boost::asio::awaitable<WriteResult> write_within(boost::asio::ip::tcp::socket& socket, boost::asio::steady_timer& timer,
                                                 boost::asio::const_buffer bytes, std::chrono::milliseconds timeout);

}  // namespace sunkeep::server
