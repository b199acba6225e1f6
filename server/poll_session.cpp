// The transports poll sessions talk over.
#include "server/poll_session.hpp"

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

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

PollRead TcpTransport::read_ready() {
  if (closed_) return {};
  boost::system::error_code error;
  const std::size_t available = socket_.available(error);
  if (error || available == 0) return {};
  const std::size_t size = socket_.read_some(asio::buffer(buffer_.data(), std::min(available, buffer_.size())), error);
  if (error) return {};
  return PollRead{.bytes = std::span<const std::uint8_t>(buffer_.data(), size)};
}

asio::awaitable<WriteResult> TcpTransport::write(std::span<const std::uint8_t> message, std::size_t /*peer*/) {
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

UdpTransport::UdpTransport(asio::ip::udp::socket socket, std::vector<asio::ip::udp::endpoint> peers,
                           std::optional<asio::ip::udp::endpoint> group)
    : socket_(std::move(socket)), peers_(std::move(peers)), group_(std::move(group)), read_timer_(socket_.get_executor()) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);  // a full send buffer drops the datagram instead of stalling
}

asio::awaitable<PollRead> UdpTransport::read(PollClock::time_point until) {
  while (!closed_) {
    read_timer_.expires_at(until);
    auto result = co_await (socket_.async_receive_from(asio::buffer(buffer_), sender_, tuple_awaitable) ||
                            read_timer_.async_wait(tuple_awaitable));
    if (closed_) break;
    if (result.index() == 1) co_return PollRead{};  // the deadline
    const boost::system::error_code error = std::get<0>(std::get<0>(result));
    // An ICMP error from an earlier send is no reason to stop listening.
    if (error == asio::error::connection_refused || error == asio::error::host_unreachable ||
        error == asio::error::network_unreachable) {
      co_return PollRead{};
    }
    if (error) co_return PollRead{.error = error};
    if (!from_a_peer()) continue;
    co_return PollRead{.bytes = std::span<const std::uint8_t>(buffer_.data(), std::get<1>(std::get<0>(result)))};
  }
  co_return PollRead{.error = asio::error::operation_aborted};
}

bool UdpTransport::from_a_peer() {
  if (group_) return true;  // answers to the group come from anyone
  const bool known = std::any_of(peers_.begin(), peers_.end(),
                                 [this](const asio::ip::udp::endpoint& p) { return p.address() == sender_.address(); });
  if (!known) {
    ++strangers_;
    spdlog::debug("udp: a datagram from {} (no peer) dropped", sender_.address().to_string());
  }
  return known;
}

PollRead UdpTransport::read_ready() {
  if (closed_) return {};
  boost::system::error_code error;
  for (int i = 0; i < max_ready_reads; ++i) {
    const std::size_t size = socket_.receive_from(asio::buffer(buffer_), sender_, 0, error);
    if (error) return {};
    if (from_a_peer()) return PollRead{.bytes = std::span<const std::uint8_t>(buffer_.data(), size)};
  }
  return {};
}

std::size_t UdpTransport::add_peer(const asio::ip::udp::endpoint& peer) {
  peers_.push_back(peer);
  return peers_.size() - 1;
}

asio::awaitable<WriteResult> UdpTransport::write(std::span<const std::uint8_t> message, std::size_t peer) {
  if (closed_) co_return WriteResult::failed;
  const asio::ip::udp::endpoint* to = peer == group_peer ? (group_ ? &*group_ : nullptr)
                                      : peer < peers_.size() ? &peers_[peer]
                                                             : nullptr;
  if (to == nullptr || to->address().is_unspecified()) {
    spdlog::debug("udp: no address for peer {}; datagram dropped", peer);
    co_return WriteResult::written;
  }
  boost::system::error_code error;
  socket_.send_to(asio::buffer(message.data(), message.size()), *to, 0, error);
  if (error) spdlog::debug("udp: send to {} failed: {}", to->address().to_string(), error.message());
  co_return WriteResult::written;
}

void UdpTransport::close() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  read_timer_.cancel();
}

}  // namespace sunkeep::server
