// The HTTP/1.1 transport of the API (Boost.Beast): one coroutine per connection with keep-alive,
// a timeout on every read and write, header and body size limits, and queries on the ReadPool.
#pragma once

#include "api/api.hpp"
#include "server/read_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sunkeep::server {

struct HttpLimits {
  static constexpr std::uint32_t header_bytes = 8 * 1024;
  static constexpr std::uint64_t body_bytes = 8 * 1024;
  static constexpr std::chrono::seconds io_timeout{30};
};

struct HttpCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> connections_open{0};
};

// Accepts on `acceptor` until it is closed; each connection is served on its own strand.
void spawn_http_accept_loop(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor& acceptor,
                            const api::Api& api, ReadPool& reads, HttpCounters& counters);

}  // namespace sunkeep::server
