// Pieces every device connection shares.
#include "server/connection.hpp"

namespace sunkeep::server {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

PeerName peer_name(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return {"unknown", "unknown"};
  return {endpoint_text(remote.address(), remote.port()), remote.address().to_string()};
}

std::string endpoint_text(const asio::ip::address& address, std::uint16_t port) {
  const std::string host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void close_socket(asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<WriteResult> write_within(asio::ip::tcp::socket& socket, asio::steady_timer& timer,
                                          asio::const_buffer bytes, std::chrono::milliseconds timeout) {
  timer.expires_after(timeout);
  auto result = co_await (asio::async_write(socket, bytes, tuple_awaitable) || timer.async_wait(tuple_awaitable));
  if (result.index() == 1) co_return WriteResult::timed_out;
  co_return std::get<0>(std::get<0>(result)) ? WriteResult::failed : WriteResult::written;
}

}  // namespace sunkeep::server
