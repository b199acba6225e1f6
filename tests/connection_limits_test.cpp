// The device listeners' connection caps (interfaces.md §2 max_connections,
// max_connections_per_host): beyond them a connection is closed at once, a closed connection
// gives its place back, and refusals are logged once per host per minute.
#include "server/connection_limiter.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::test;

namespace {

// Waits, bounded, until `limiter` counts `n` open connections.
bool open_becomes(const server::ConnectionLimiter& limiter, std::size_t n) {
  for (int i = 0; i < 500 && limiter.open() != n; ++i) std::this_thread::sleep_for(10ms);
  return limiter.open() == n;
}

}  // namespace

TEST_CASE("connection caps: refusals from thousands of addresses remember at most 1024 of them") {
  const auto limiter = server::ConnectionLimiter::create("test", {.max_connections = 0, .max_connections_per_host = 1});
  const auto t = std::chrono::steady_clock::now();
  std::size_t lines = 0;
  {
    LogCapture log;
    for (int i = 0; i < 3000; ++i) CHECK_FALSE(limiter->admit("fd00::" + std::to_string(i), t));
    lines = log.lines_with("refusing connections from");
  }
  CHECK(limiter->refused() == 3000);
  CHECK(lines == 1025);  // 1,024 hosts by name, then one line for all the others
}

TEST_CASE("connection caps: per host and per listener, with places given back and a log line a minute per host") {
  const auto limiter = server::ConnectionLimiter::create("test", {.max_connections = 3, .max_connections_per_host = 2});
  const auto t = std::chrono::steady_clock::now();
  LogCapture log;
  auto a1 = limiter->admit("10.0.0.1", t);
  auto a2 = limiter->admit("10.0.0.1", t);
  CHECK(a1);
  CHECK(a2);
  CHECK_FALSE(limiter->admit("10.0.0.1", t));  // the host's cap
  CHECK_FALSE(limiter->admit("10.0.0.1", t + std::chrono::seconds(59)));
  auto b1 = limiter->admit("10.0.0.2", t);
  CHECK(b1);
  CHECK_FALSE(limiter->admit("10.0.0.3", t));  // the listener's cap
  CHECK(limiter->refused() == 3);
  CHECK(log.lines_with("refusing connections from 10.0.0.1") == 1);
  CHECK(log.lines_with("max_connections_per_host = 2") == 1);
  CHECK(log.lines_with("refusing connections from 10.0.0.3: max_connections = 3") == 1);
  CHECK_FALSE(limiter->admit("10.0.0.1", t + std::chrono::seconds(61)));
  CHECK(log.lines_with("refusing connections from 10.0.0.1") == 2);  // a minute later
  a1.reset();
  CHECK(limiter->open() == 2);
  CHECK(limiter->admit("10.0.0.1", t));  // its place was given back
}

TEST_CASE("connection caps: the server closes a device connection beyond max_connections_per_host at once") {
  TestServer server([](config::Config& c) { c.alphaess.limits.max_connections_per_host = 2; });
  std::vector<std::unique_ptr<FakeDevice>> devices;
  for (int i = 0; i < 2; ++i) {
    devices.push_back(std::make_unique<FakeDevice>(server.port()));
    check_ack(devices.back()->exchange(0, ""), 0);
  }
  FakeDevice third(server.port());
  CHECK(third.closed_by_server(2s));
  CHECK(server.alphaess_limiter().refused() == 1);
  // The first two are still served, and a closed one gives its place back.
  check_ack(devices[1]->exchange(0, ""), 0);
  devices[0]->close();
  REQUIRE(open_becomes(server.alphaess_limiter(), 1));
  FakeDevice fourth(server.port());
  check_ack(fourth.exchange(0, ""), 0);
}
