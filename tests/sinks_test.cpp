// Output sinks (server/sinks.hpp): a sink that blocks, falls behind or throws never delays an
// ack, another sink or the API; its queue stays bounded and counts what it dropped.
#include "server/sinks.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

// Blocks in consume() until released.
class BlockedSink final : public server::Sink {
 public:
  [[nodiscard]] std::string_view name() const override { return "blocked"; }
  void consume(const Observation&) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    released_cv_.wait(lock, [this] { return released_; });
  }
  void release() {
    const std::lock_guard lock(mutex_);
    released_ = true;
    released_cv_.notify_all();
  }
  [[nodiscard]] int entered() {
    const std::lock_guard lock(mutex_);
    return entered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  int entered_ = 0;
};

class CountingSink final : public server::Sink {
 public:
  explicit CountingSink(std::string name, bool throws = false) : name_(std::move(name)), throws_(throws) {}
  [[nodiscard]] std::string_view name() const override { return name_; }
  void consume(const Observation&) override {
    ++consumed;
    if (throws_) throw std::runtime_error("a sink's own fault");
  }
  std::atomic<int> consumed{0};

 private:
  std::string name_;
  bool throws_;
};

std::uint64_t counted(metrics::Registry& registry, const std::string& family, const std::string& sink) {
  return registry.counter(family, "", {{"sink", sink}}).value();
}

// A realtime push `second` seconds after 22:10:00.
std::string push(int second) {
  const std::string minute = std::to_string(10 + second / 60);
  const std::string sec = (second % 60 < 10 ? "0" : "") + std::to_string(second % 60);
  return R"({"Time":"2024/03/03 22:)" + minute + ":" + sec + R"(","SN":"AL1","Ppv1":"1","Pbat":")" +
         std::to_string(second) + R"(","SOC":"38.0"})";
}

}  // namespace

TEST_CASE("sinks: a blocked sink's queue stays bounded and counts its drops, and the other sinks get everything") {
  metrics::Registry registry;
  server::SinkHub hub(registry);
  auto blocked = std::make_shared<BlockedSink>();
  auto counting = std::make_shared<CountingSink>("counting");
  auto throwing = std::make_shared<CountingSink>("throwing", true);
  hub.add(blocked, 5);
  hub.add(counting);
  hub.add(throwing);
  auto observation = std::make_shared<const Observation>(Observation{.vendor = "acme", .serial = "X1"});
  hub.publish(observation);
  REQUIRE(eventually([&] { return blocked->entered() == 1; }, 5s));
  for (int i = 1; i < 100; ++i) hub.publish(observation);  // returns although one sink never takes more

  CHECK(eventually([&] { return counting->consumed == 100 && throwing->consumed == 100; }, 5s));
  CHECK(counted(registry, "sunkeep_sink_dropped_total", "blocked") == 99 - 5);  // five queued
  CHECK(counted(registry, "sunkeep_sink_failures_total", "throwing") == 100);
  CHECK(counted(registry, "sunkeep_sink_observations_total", "counting") == 100);
  blocked->release();
  hub.stop(std::chrono::steady_clock::now() + 5s);
  CHECK(blocked->entered() == 6);
}

TEST_CASE("sinks: devices are acked and the API answers while a sink blocks forever") {
  TestServer server;
  auto blocked = std::make_shared<BlockedSink>();
  server.server().sinks().add(blocked, 16);
  FakeDevice device(server.port());
  check_ack(device.exchange(2, R"({"UserName":"AL1","Password":"pw","CompanyName":"AlphaESS"})"), 2);
  REQUIRE(eventually([&] { return blocked->entered() == 1; }, 5s));  // the login, from then on blocked
  for (int i = 0; i < 200; ++i) check_ack(device.exchange(16, push(i)), 16);
  CHECK(http_get(server.http_port(), "/api/v1/devices/alphaess:AL1").status == 200);
  CHECK(http_get(server.http_port(), "/metrics").status == 200);
  CHECK(blocked->entered() == 1);
  CHECK(counted(server.server().metrics(), "sunkeep_sink_dropped_total", "blocked") == 200 - 16);
  // The latest-values sink kept up: the newest battery power is the last one sent.
  CHECK(eventually([&] {
    const auto latest = server.server().latest_values().device("alphaess", "AL1");
    return latest && latest->metrics.contains("Pbat") && latest->metrics.at("Pbat").value == 199;
  }, 5s));
  blocked->release();
}
