// The HTTP transport under clients that do not read (interfaces.md §2 [http] max_connections and
// max_buffered_mb): open connections are capped, answers held for clients stay within the
// budget, and health still answers. Every wait is bounded.
#include "storage/schema.hpp"
#include "storage/store.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;

constexpr UtcMillis series_start = 1709251200000;  // 2024-03-01T00:00:00Z
constexpr int metrics = 6;
constexpr int points = 4000;  // every 10 s: about 124 KB of JSON per metric

// A device "alphaess:ALBIG" with `metrics` series of `points` points each, written before the
// server starts.
void seed_large_series(const TempDir& dir) {
  storage::Connection db(dir.file("sunkeep.db"));
  storage::configure_durable(db);
  storage::migrate(db);
  storage::Store store(db);
  db.exec("BEGIN IMMEDIATE");
  const auto device = store.upsert_device("alphaess", "ALBIG", series_start, "127.0.0.1:1");
  std::vector<Reading> samples;
  for (int m = 0; m < metrics; ++m) samples.push_back({"m" + std::to_string(m), "W", 0, false});
  for (int i = 0; i < points; ++i) {
    for (int m = 0; m < metrics; ++m) samples[static_cast<std::size_t>(m)].value = -1000.5 + i + m;
    store.insert_samples(device, series_start + 10'000LL * i, samples);
  }
  store.flush_device_state();
  db.exec("COMMIT");
  db.exec("BEGIN IMMEDIATE");
  while (store.move_batches_to_samples(100'000) > 0) {
  }
  db.exec("COMMIT");
}

std::string large_target() {
  std::string target = "/api/v1/devices/alphaess:ALBIG/series?from=1709251200&to=1709291200";
  for (int m = 0; m < metrics; ++m) target += "&metric=m" + std::to_string(m);
  return target;
}

// A blocking loopback connection that sends what it is told and reads only when asked.
class RawClient {
 public:
  // `receive_buffer` > 0 shrinks the socket's receive buffer (so the kernel holds little of
  // what the server sends).
  explicit RawClient(std::uint16_t port, int receive_buffer = 0) : socket_(io_) {
    socket_.open(asio::ip::tcp::v4());
    if (receive_buffer > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // True when the server closes the connection within `timeout` (bytes that arrive are dropped).
  bool closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char scratch[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{socket_.native_handle(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const auto n = ::recv(socket_.native_handle(), scratch, sizeof scratch, 0);
      if (n <= 0) return true;  // EOF or reset
    }
    return false;
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

}  // namespace

TEST_CASE("http: clients that never read large answers hold at most max_buffered_mb, and health answers") {
  TempDir dir;
  seed_large_series(dir);
  TestServer server(dir, [](config::Config& c) { c.http.max_buffered_mb = 2; });
  const std::uint64_t budget = 2ULL << 20;
  const std::uint16_t port = server.http_port();
  server::HttpCounters& counters = server.http_counters();
  const server::AnswerBudget& held = server.http_budget();
  const server::ConnectionLimiter& connections = server.server().http_limiter();

  // One answer is large (so it is charged) and two of them fit the budget, three do not.
  const HttpReply whole = http_get(port, large_target());
  REQUIRE(whole.status == 200);
  CHECK(whole.body.size() > budget / 3);
  CHECK(whole.body.size() < budget / 2);

  constexpr int stuck_clients = 20;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < stuck_clients; ++i) {
    clients.push_back(std::make_unique<RawClient>(port, 4096));
    clients.back()->send("GET " + large_target() + " HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // Every request rendered once, and answers sit unread in the budget.
  CHECK(eventually([&] { return counters.storage_queries.value() >= 1 + stuck_clients && held.held() > 0; },
                   30s));
  CHECK(held.held() <= budget);

  const HttpReply health = http_get(port, "/api/v1/health");
  CHECK(health.status == 200);
  CHECK(nlohmann::json::parse(health.body)["storage"] == "ok");
  CHECK(held.held() <= budget);
  CHECK(held.peak() <= budget);
  CHECK(held.peak() >= whole.body.size());

  // Clients that go away give their bytes back, and those that waited for room find it.
  for (auto& client : clients) client->close();
  CHECK(eventually([&] { return held.held() == 0 && connections.open() == 0; }, 60s));
  CHECK(held.peak() <= budget);
}

TEST_CASE("http: an answer larger than max_buffered_mb is 503 busy") {
  TempDir dir;
  seed_large_series(dir);
  TestServer server(dir, [](config::Config& c) { c.http.max_buffered_mb = 1; });
  const HttpReply r = http_get(server.http_port(), large_target() + "&metric=m0&metric=m1&metric=m2");
  CHECK(r.status == 503);
  const auto body = nlohmann::json::parse(r.body);
  CHECK(body["error"] == "busy");
  CHECK(body["detail"].get<std::string>().find("max_buffered_mb") != std::string::npos);
  CHECK(server.http_counters().answers_busy.value() == 1);
  CHECK(server.http_budget().held() == 0);
  CHECK(http_get(server.http_port(), "/api/v1/health").status == 200);
}

TEST_CASE("http: beyond max_connections a new connection is closed at once") {
  TestServer server([](config::Config& c) { c.http.max_connections = 3; });
  const std::uint16_t port = server.http_port();
  const server::ConnectionLimiter& counters = server.server().http_limiter();
  std::vector<std::unique_ptr<RawClient>> open;
  for (int i = 0; i < 3; ++i) open.push_back(std::make_unique<RawClient>(port));
  REQUIRE(eventually([&] { return counters.open() == 3; }, 5s));

  RawClient extra(port);
  CHECK(extra.closed_by_server(3s));
  CHECK(counters.refused() == 1);
  CHECK(counters.open() == 3);

  // A slot freed is a slot to use.
  open.back()->close();
  REQUIRE(eventually([&] { return counters.open() == 2; }, 5s));
  CHECK(http_get(port, "/api/v1/health").status == 200);
  CHECK(counters.refused() == 1);
}
