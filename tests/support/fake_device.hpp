// A simulated AlphaESS device for integration tests: a blocking loopback TCP client that sends
// frames built from the spec and reads the server's replies, every wait bounded by a timeout.
#pragma once

#include "protocol/alphaess/frame.hpp"
#include "protocol/alphaess/frame_decoder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sunkeep::test {

using namespace std::chrono_literals;

class FakeDevice {
 public:
  explicit FakeDevice(std::uint16_t port);

  void send_bytes(std::string_view bytes);
  // A whole device frame: F1=1, the given F2/F3, the payload and its CRC.
  void send(std::uint8_t f2, std::uint8_t command, std::string_view payload);
  // The same frame as bytes, for batching several into one write or splitting one.
  static std::string frame(std::uint8_t f2, std::uint8_t command, std::string_view payload);

  // The next frame from the server, or nullopt when the connection closed or nothing came in time.
  std::optional<alphaess::Frame> receive(std::chrono::milliseconds timeout = 5s);
  // Sends a device-initiated frame and returns the reply that follows it.
  std::optional<alphaess::Frame> exchange(std::uint8_t command, std::string_view payload);
  // True when the server closes the connection within `timeout` (any unread frames are dropped).
  bool closed_by_server(std::chrono::milliseconds timeout = 5s);
  // True when nothing arrives within `quiet`.
  bool nothing_received(std::chrono::milliseconds quiet = 200ms);

  void close();

 private:
  // Reads what is available within the timeout into the decoder; false on EOF/error/timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  alphaess::FrameDecoder decoder_{1 << 20};
  bool eof_ = false;
};

// The success payload every ack carries.
inline constexpr std::string_view success_json = R"({"Status":"Success"})";

}  // namespace sunkeep::test
