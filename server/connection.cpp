// Pieces every device connection shares.
#include "server/connection.hpp"

#include <boost/asio/connect.hpp>

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

asio::awaitable<Connected> connect_within(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);  // one deadline for the resolve and the connect
  asio::ip::tcp::resolver resolver(executor);
  auto resolving = co_await (resolver.async_resolve(host, std::to_string(port), tuple_awaitable) ||
                             timer.async_wait(tuple_awaitable));
  if (resolving.index() == 1) co_return Connected{.error = "cannot resolve " + host + " within the connect timeout"};
  auto resolved = std::get<0>(std::move(resolving));
  if (std::get<0>(resolved)) co_return Connected{.error = "cannot resolve " + host + ": " + std::get<0>(resolved).message()};
  asio::ip::tcp::socket socket(executor);
  auto connected = co_await (asio::async_connect(socket, std::get<1>(resolved), tuple_awaitable) ||
                             timer.async_wait(tuple_awaitable));
  if (connected.index() == 1) co_return Connected{.error = "no connection within the connect timeout"};
  if (const auto error = std::get<0>(std::get<0>(connected))) co_return Connected{.error = error.message()};
  co_return Connected{.socket = std::move(socket)};
}

}  // namespace sunkeep::server
