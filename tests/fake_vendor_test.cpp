// Adding a vendor touches neither server/, api/ nor storage/: a tiny vendor defined here alone
// (a line "<serial> <watts>\n" per reading over TCP, acked with "ok\n" once committed) is
// registered beside the real drivers, and its devices show in the API, /metrics and the archive.
#include "drivers/registry.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"
#include "server/listener.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <istream>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

class AcmeDriver final : public server::Driver {
 public:
  explicit AcmeDriver(server::DriverHost& host)
      : host_(host),
        frames_(host.metrics.counter("sunkeep_frames_received_total", "Frames received from devices.",
                                     {{"listener", "acme"}})),
        listener_(host.io, {"127.0.0.1", 0}, "Acme meters",
                  server::ConnectionLimiter::create("acme", {}, &host.metrics)) {}

  [[nodiscard]] std::string_view vendor() const override { return "acme"; }
  void start() override {
    listener_.start(host_.tasks, [this](asio::ip::tcp::socket socket, std::shared_ptr<const void> slot) {
      auto executor = socket.get_executor();
      host_.tasks.spawn(executor, serve(std::move(socket), std::move(slot)), "acme connection");
    });
  }
  [[nodiscard]] bool connected(const std::string& serial) const override { return serial == "X7"; }
  [[nodiscard]] std::chrono::milliseconds expected_interval() const override { return 5s; }
  [[nodiscard]] std::uint16_t port() const override { return listener_.port(); }
  // The archive keeps the line; the API shows it with the watts hidden.
  [[nodiscard]] std::vector<std::uint8_t> display_frame(std::span<const std::uint8_t> raw, bool) const override {
    std::string shown(raw.begin(), raw.end());
    shown = shown.substr(0, shown.find(' ')) + " ***";
    return {shown.begin(), shown.end()};
  }

 private:
  asio::awaitable<void> serve(asio::ip::tcp::socket socket, std::shared_ptr<const void> /*slot*/) {
    asio::streambuf buffer(256);
    while (true) {
      const auto read = co_await asio::async_read_until(socket, buffer, '\n', server::tuple_awaitable);
      if (std::get<0>(read)) co_return;
      std::string line;
      std::istream in(&buffer);
      std::getline(in, line);
      ++frames_;
      Observation seen = observe(line);
      const server::Committed committed = co_await host_.observations.commit(std::move(seen));
      if (committed.error) co_return;
      const auto written = co_await asio::async_write(socket, asio::buffer(std::string_view("ok\n")),
                                                      server::tuple_awaitable);
      if (std::get<0>(written)) co_return;
    }
  }

  static Observation observe(const std::string& line) {
    const std::size_t space = line.find(' ');
    Observation seen{.vendor = "acme", .serial = line.substr(0, space), .peer = "127.0.0.1", .received = server::now_ms(),
                     .cadence_ms = 5000};
    seen.frames.push_back({.direction = FrameDirection::from_device, .command = 1, .bytes = {line.begin(), line.end()}});
    seen.readings.push_back({"pv_power", "W", std::stod(line.substr(space + 1)), true});
    return seen;
  }

  server::DriverHost& host_;
  metrics::Counter& frames_;
  server::Listener listener_;
};

}  // namespace

TEST_CASE("drivers: a vendor defined in the tests alone is served, stored and shown like the real ones") {
  TempDir dir;
  config::Config config = test_config(dir);
  std::vector<server::DriverFactory> factories = drivers::all_drivers();
  factories.push_back([](server::DriverHost& host) { return std::make_unique<AcmeDriver>(host); });
  server::Server server(config, factories);
  server.start(2);
  const auto* acme = server.driver("acme");
  REQUIRE(acme != nullptr);

  asio::io_context io;
  asio::ip::tcp::socket meter(io);
  meter.connect({asio::ip::make_address("127.0.0.1"), acme->port()});
  asio::write(meter, asio::buffer(std::string_view("X7 1500\n")));
  asio::streambuf reply;
  asio::read_until(meter, reply, '\n');
  CHECK(std::string(asio::buffers_begin(reply.data()), asio::buffers_end(reply.data())) == "ok\n");

  const auto port = server.http_port();
  const json device = json::parse(http_get(port, "/api/v1/devices/acme:X7").body);
  CHECK(device["online"] == true);
  const json latest = json::parse(http_get(port, "/api/v1/devices/acme:X7/latest").body);
  CHECK(latest["metrics"]["pv_power"]["value"] == 1500.0);
  const json frames = json::parse(http_get(port, "/api/v1/devices/acme:X7/frames").body);
  CHECK(frames["frames"][0]["hex"] == "5837202a2a2a");  // "X7 ***": the driver's view, not the stored line
  CHECK(eventually([&] {
    const std::string page = http_get(port, "/metrics").body;
    return page.find(R"(sunkeep_pv_power_watts{device="acme:X7",vendor="acme"} 1500)") != std::string::npos &&
           page.find(R"(sunkeep_frames_received_total{listener="acme"} 1)") != std::string::npos;
  }, 5s));
}
