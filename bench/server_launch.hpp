// Starting the real `sunkeep serve` from a benchmark program: free loopback ports for its
// config, the spawn, and the wait until /api/v1/health answers.
#pragma once

#include "tests/support/http_client.hpp"

#include <boost/asio.hpp>

#include <spawn.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

extern char** environ;

namespace sunkeep::bench {

// Two distinct free loopback ports: both are held until both are known, so the kernel cannot
// hand out the same one twice (it may, once the first is closed).
inline std::pair<std::uint16_t, std::uint16_t> two_free_ports() {
  boost::asio::io_context io;
  using boost::asio::ip::tcp;
  tcp::acceptor first(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  tcp::acceptor second(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return {first.local_endpoint().port(), second.local_endpoint().port()};
}

// `binary serve --config config` in the background, its output where this program's goes.
inline pid_t start_server(const std::string& binary, const std::string& config) {
  std::string serve = "serve", flag = "--config", cfg = config, bin = binary;
  char* argv[] = {bin.data(), serve.data(), flag.data(), cfg.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv, environ) != 0) throw std::runtime_error("spawn failed");
  return pid;
}

// Waits up to about 6 s for /api/v1/health to answer 200.
inline bool wait_healthy(std::uint16_t http_port) {
  for (int i = 0; i < 300; ++i) {
    try {
      if (test::http_get(http_port, "/api/v1/health").status == 200) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace sunkeep::bench
