// The simulated AlphaESS device.
#include "tests/support/fake_device.hpp"

#include "protocol/alphaess/encoder.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>

#include <array>
#include <variant>

namespace sunkeep::test {

namespace asio = boost::asio;

FakeDevice::FakeDevice(std::uint16_t port) : socket_(io_) {
  socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  socket_.set_option(asio::ip::tcp::no_delay(true));
}

std::string FakeDevice::frame(std::uint8_t f2, std::uint8_t command, std::string_view payload) {
  const auto bytes = alphaess::frame_bytes(f2, command, payload);
  return {bytes.begin(), bytes.end()};
}

void FakeDevice::send_bytes(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }

void FakeDevice::send(std::uint8_t f2, std::uint8_t command, std::string_view payload) {
  send_bytes(frame(f2, command, payload));
}

bool FakeDevice::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd pfd{socket_.native_handle(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
  std::array<std::uint8_t, 8192> buffer{};
  boost::system::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
  if (ec || n == 0) {
    eof_ = true;
    return false;
  }
  decoder_.feed(std::span<const std::uint8_t>(buffer.data(), n));
  return true;
}

std::optional<alphaess::Frame> FakeDevice::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto step = decoder_.next();
    if (auto* frame = std::get_if<alphaess::Frame>(&step)) return std::move(*frame);
    if (std::holds_alternative<alphaess::Rejection>(step)) return std::nullopt;
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<alphaess::Frame> FakeDevice::exchange(std::uint8_t command, std::string_view payload) {
  send(1, command, payload);
  return receive();
}

bool FakeDevice::closed_by_server(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{socket_.native_handle(), POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) continue;
    std::array<std::uint8_t, 8192> buffer{};
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (ec || n == 0) eof_ = true;
  }
  return eof_;
}

bool FakeDevice::nothing_received(std::chrono::milliseconds quiet) {
  return !receive(quiet).has_value() && !eof_;
}

void FakeDevice::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace sunkeep::test
