// The device side of sunkeep without storage: accepts AlphaESS connections on loopback, decodes
// every frame as the server does (frame decoder, message decoding, record preparation) and acks
// at once. Run beside sunkeep-loadgen it measures what the network and protocol path alone reach
// on this machine: the ceiling no storage design can lift (docs/benchmarks.md).
//   sunkeep-bench-ackonly [--port P] [--threads N] [--seconds S]
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/frame_decoder.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/observation.hpp"
#include "server/connection.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <thread>
#include <variant>
#include <vector>

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace sunkeep;

namespace {

std::atomic<std::uint64_t> frames_acked{0};

awaitable<void> serve(tcp::socket socket) {
  alphaess::FrameDecoder decoder(65536);
  std::array<std::uint8_t, 16384> buffer{};
  const TimeZone utc("UTC");
  while (true) {
    // (No structured bindings on awaited results: g++ 12 miscompiles them, see server/.)
    auto read = co_await socket.async_read_some(asio::buffer(buffer), server::tuple_awaitable);
    if (std::get<0>(read)) co_return;
    decoder.feed(std::span<const std::uint8_t>(buffer.data(), std::get<1>(read)));
    std::vector<std::uint8_t> acks;
    while (true) {
      auto step = decoder.next();
      const auto* frame = std::get_if<alphaess::Frame>(&step);
      if (!frame) {
        if (std::holds_alternative<alphaess::Rejection>(step)) co_return;
        break;
      }
      const alphaess::Message message = alphaess::decode_message(*frame);
      const Observation seen = alphaess::observe({.peer = "127.0.0.1", .received = 0, .frame = *frame,
                                                  .message = message, .zone = &utc});
      static_cast<void>(seen);
      if (frame->is_initiating()) {
        const auto ack = alphaess::make_success_ack(frame->command()).bytes();
        acks.insert(acks.end(), ack.begin(), ack.end());
        ++frames_acked;
      }
    }
    if (!acks.empty()) {
      auto written = co_await asio::async_write(socket, asio::buffer(acks), server::tuple_awaitable);
      if (std::get<0>(written)) co_return;
    }
  }
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& io) {
  while (true) {
    auto accepted = co_await acceptor.async_accept(asio::make_strand(io), server::tuple_awaitable);
    if (std::get<0>(accepted)) co_return;
    tcp::socket socket = std::move(std::get<1>(accepted));
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"AlphaESS decode-and-ack server without storage (benchmark)"};
  unsigned short port = 0;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  int seconds = 60;
  app.add_option("--port", port, "listen port on 127.0.0.1 (0: any, printed)");
  app.add_option("--threads", threads, "io threads (default: one per core, as sunkeep)");
  app.add_option("--seconds", seconds, "stop after this long")->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  acceptor.listen(4096);
  std::printf("ack-only server listening on port %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(acceptor, io), asio::detached);
  asio::steady_timer stop(io, std::chrono::seconds(seconds));
  stop.async_wait([&](const boost::system::error_code&) { io.stop(); });
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  for (auto& t : pool) t.join();
  std::printf("ack-only server acked %llu frames\n", static_cast<unsigned long long>(frames_acked.load()));
  return 0;
}
