// MQTT delivery benchmark: subscribes to `<base>/+/state` on a broker and, for a load generator
// run with --stamp (Pbat = the send time's wall-clock milliseconds mod 1,000,000), reports how
// long after its frame was sent each state message arrived: send → commit → ack and publish →
// broker → subscriber, an upper bound of commit → delivery. A state that repeats a frame's stamp
// (sent for other values of the device) is not counted. Prints count and percentiles.
#include "bench/percentile.hpp"

#include <CLI/CLI.hpp>
#include <mosquitto.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using sunkeep::bench::percentile;

struct Latencies {
  std::mutex mutex;
  std::vector<double> ms;
  std::map<std::string, std::int64_t> last_stamp;  // per topic: a state repeating a stamp is not a new frame's
};

std::int64_t wall_ms_mod() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return ms.count() % 1'000'000;
}

void on_message(struct mosquitto*, void* data, const struct mosquitto_message* m) {
  const std::int64_t now = wall_ms_mod();
  if (m->payloadlen <= 0) return;
  const auto state = nlohmann::json::parse(std::string(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen)),
                                           nullptr, false);
  if (!state.is_object() || !state.contains("battery_power") || !state["battery_power"].is_number()) return;
  const auto sent = static_cast<std::int64_t>(state["battery_power"].get<double>());
  const std::int64_t latency = ((now - sent) % 1'000'000 + 1'000'000) % 1'000'000;
  auto* latencies = static_cast<Latencies*>(data);
  const std::lock_guard lock(latencies->mutex);
  auto [it, first] = latencies->last_stamp.try_emplace(m->topic, sent);
  if (!first && it->second == sent) return;
  it->second = sent;
  latencies->ms.push_back(static_cast<double>(latency));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sunkeep MQTT delivery latency at a subscriber"};
  int port = 1883;
  double seconds = 10;
  double skip = 2;
  std::string base = "sunkeep";
  app.add_option("--port", port, "the broker's port on 127.0.0.1");
  app.add_option("--seconds", seconds, "how long to listen");
  app.add_option("--skip", skip, "seconds of the start not counted (retained messages, the announce)");
  app.add_option("--base", base, "sunkeep's base topic");
  CLI11_PARSE(app, argc, argv);

  mosquitto_lib_init();
  Latencies latencies;
  struct mosquitto* client = mosquitto_new(nullptr, true, &latencies);
  mosquitto_message_callback_set(client, on_message);
  if (mosquitto_connect(client, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "cannot connect to the broker on port %d\n", port);
    return 1;
  }
  mosquitto_subscribe(client, nullptr, (base + "/+/state").c_str(), 0);
  mosquitto_loop_start(client);
  std::this_thread::sleep_for(std::chrono::duration<double>(skip));
  {
    const std::lock_guard lock(latencies.mutex);
    latencies.ms.clear();
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds - skip));
  mosquitto_disconnect(client);
  mosquitto_loop_stop(client, false);
  std::vector<double> ms;
  {
    const std::lock_guard lock(latencies.mutex);
    ms = latencies.ms;
  }
  const double count = static_cast<double>(ms.size());
  std::printf("mqtt delivery: %.0f state messages in %.0f s (%.0f/s); send -> subscriber p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              count, seconds - skip, count / (seconds - skip), percentile(ms, 0.5), percentile(ms, 0.99),
              percentile(ms, 1.0));
  mosquitto_destroy(client);
  mosquitto_lib_cleanup();
  return 0;
}
