// The transports poll sessions talk over.
#include "server/poll_session.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace sunkeep::server {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

TcpTransport::TcpTransport(asio::ip::tcp::socket socket, std::chrono::milliseconds write_timeout)
    : socket_(std::move(socket)),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      write_timeout_(write_timeout) {
  // Requests and answers are a few hundred bytes each: no Nagle delay; keep-alive finds dead peers.
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_.set_option(asio::socket_base::keep_alive(true), ignored);
}

asio::awaitable<PollRead> TcpTransport::read(PollClock::time_point until) {
  if (closed_) co_return PollRead{.error = asio::error::operation_aborted};
  read_timer_.expires_at(until);
  auto result = co_await (socket_.async_read_some(asio::buffer(buffer_), tuple_awaitable) ||
                          read_timer_.async_wait(tuple_awaitable));
  if (closed_) co_return PollRead{.error = asio::error::operation_aborted};
  if (result.index() == 1) co_return PollRead{};  // the deadline
  const boost::system::error_code error = std::get<0>(std::get<0>(result));
  if (error) co_return PollRead{.error = error};
  co_return PollRead{.bytes = std::span<const std::uint8_t>(buffer_.data(), std::get<1>(std::get<0>(result)))};
}

asio::awaitable<WriteResult> TcpTransport::write(std::span<const std::uint8_t> message) {
  if (closed_) co_return WriteResult::failed;
  const WriteResult result =
      co_await write_within(socket_, write_timer_, asio::buffer(message.data(), message.size()), write_timeout_);
  co_return closed_ ? WriteResult::failed : result;  // closing cancels the write timer too
}

void TcpTransport::close() {
  closed_ = true;
  close_socket(socket_);
  read_timer_.cancel();
  write_timer_.cancel();
}

}  // namespace sunkeep::server
