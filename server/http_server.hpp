// The HTTP/1.1 transport of the API (Boost.Beast): one coroutine per connection with keep-alive,
// a timeout on every read and write, header and body size limits, and queries on the ReadPool.
#pragma once

#include "api/api.hpp"
#include "server/read_pool.hpp"
#include "storage/recent_samples.hpp"

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

// What every HTTP connection uses; all of it outlives the accept loop.
struct HttpServices {
  const api::Api& api;
  ReadPool& reads;
  const storage::RecentSamples& recent;  // the writer's samples not yet in the `sample` table
  HttpCounters& counters;
};

// Accepts on `acceptor` until it is closed; each connection is served on its own strand.
void spawn_http_accept_loop(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor& acceptor,
                            HttpServices services);

}  // namespace sunkeep::server
