// The loopback SMA inverter.
#include "tests/support/fake_sma.hpp"
#include "tests/support/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace sunkeep::test {

FakeSmaInverter::FakeSmaInverter(SimulatedInverter device) : device_(std::move(device)) {
  socket_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address = loopback(0);
  if (socket_ < 0 || ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("fake SMA inverter: cannot bind a loopback UDP port");
  }
  socklen_t length = sizeof address;
  ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  timeval wait{0, 50'000};  // the thread checks stop_ this often
  ::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  thread_ = std::thread([this] { serve(); });
}

FakeSmaInverter::~FakeSmaInverter() {
  stop_ = true;
  thread_.join();
  ::close(socket_);
}

void FakeSmaInverter::serve() {
  std::array<std::uint8_t, 2048> buffer{};
  while (!stop_) {
    sockaddr_in from{};
    socklen_t length = sizeof from;
    const auto got = ::recvfrom(socket_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
    if (got <= 0) continue;
    std::optional<Bytes> reply;
    {
      std::lock_guard lock(mutex_);
      reply = device_.answer(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(got)));
    }
    if (reply) ::sendto(socket_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), length);
  }
}

void send_udp(std::uint16_t port, std::span<const std::uint8_t> datagram) {
  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in address = loopback(port);
  ::sendto(s, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  ::close(s);
}

}  // namespace sunkeep::test
