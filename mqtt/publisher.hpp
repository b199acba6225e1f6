// The MQTT output (mqtt.md): follows the latest values (server/latest_values.hpp), so it sees
// only committed data with the counter guard applied, and publishes on a thread of its own.
//
// Hand-off (on the latest-values thread) is O(1) per device and never waits for the network:
// each device has one slot holding its newest state and a FIFO of at most 64 events; a newer
// state replaces an unpublished one (counted as superseded). The publisher thread turns slots
// into dirty flags (discovery, availability, device object, state, events) and publishes while
// fewer than `max_pending` messages are in flight, so memory stays O(devices) however long the
// broker is away. On every (re)connect and on Home Assistant's birth message it announces
// everything again; after the first announce it empties the retained topics it recorded and no
// longer publishes (ghosts).
#pragma once

#include "common/device_state.hpp"
#include "common/metrics.hpp"
#include "config/mqtt.hpp"
#include "mqtt/backoff.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sunkeep::mqtt {

class Client;
class Announcer;

// [mqtt] with its defaults resolved and its secret read.
struct PublisherSettings {
  config::MqttConfig config;  // client_id and instance_id filled in
  std::string password;       // from `password` or `password_file`
  std::string version;
  UtcMillis started = 0;
};

// Reads `password_file` ("$CREDENTIALS_DIRECTORY/…" expanded), fills in the instance and client
// id. Throws std::runtime_error naming the file when it cannot be read.
PublisherSettings resolve_settings(const config::MqttConfig& config, std::string version, UtcMillis started);

struct PublisherHooks {
  // The API's `online` for a device at `now`.
  std::function<bool(const DeviceState&, UtcMillis)> online;
  // The vendor's name as people write it, from its driver.
  std::function<std::string(const std::string&)> manufacturer;
  // Saves what was published retained (topic, kind) and what was emptied (mqtt.md §4.3).
  std::function<void(std::vector<std::pair<std::string, std::string>>, std::vector<std::string>)> record_topics;
  // The retained topics recorded by earlier runs: topic → kind.
  std::map<std::string, std::string> recorded_topics;
  std::function<UtcMillis()> clock;  // UTC now (the server's clock)
};

class Publisher final : public LatestValuesSubscriber, public std::enable_shared_from_this<Publisher> {
 public:
  static constexpr std::size_t events_per_device = 64;

  Publisher(PublisherSettings settings, PublisherHooks hooks, metrics::Registry& metrics);
  ~Publisher() override;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  // SIGTERM: `offline` on the status topic and disconnect, on the publisher's thread, while the
  // caller goes on (e.g. flushing storage); finish_stop() waits for it until `deadline`.
  void begin_stop();
  void finish_stop(std::chrono::steady_clock::time_point deadline);

  void updated(std::vector<DeviceUpdate> updates) override;
  // "connected" or "disconnected", for /api/v1/health.
  [[nodiscard]] std::string status() const { return connected_.load() ? "connected" : "disconnected"; }

 private:
  struct Slot {
    std::shared_ptr<const DeviceState> state;
    std::deque<DeviceEvent> events;
    bool queued = false;
  };

  using SteadyTime = std::chrono::steady_clock::time_point;

  void run();
  void wake();
  void take_handoffs();
  // Sends what the announcer has while fewer than max_pending messages are in flight.
  void pump();
  [[nodiscard]] SteadyTime next_wake() const;
  void try_connect();
  void on_connected();
  void on_lost(const std::string& why);
  void on_message(const std::string& topic, const std::string& payload);
  // One pass of the loop: connect when due, take hand-offs, tick, publish.
  void pass(SteadyTime now);
  void shut_down();
  [[nodiscard]] std::string url_text() const;

  PublisherSettings settings_;
  PublisherHooks hooks_;
  metrics::Registry& metrics_;
  std::unique_ptr<Announcer> announcer_;  // what to publish next (publisher thread only)
  std::unique_ptr<Client> client_;        // publisher thread only

  std::mutex handoff_mutex_;
  std::unordered_map<std::string, Slot> slots_;
  std::vector<std::string> queued_;

  // Connection state (publisher thread only).
  Backoff backoff_;
  bool drop_client_ = false;          // the client lost its connection: replace it
  bool told_disconnected_ = false;    // the log has said so (once per change of state)
  bool was_connected_ = false;        // a connection has been made before (reconnects)
  SteadyTime retry_at_{};
  SteadyTime attempt_started_{};
  SteadyTime connected_at_{};
  SteadyTime next_tick_{};
  SteadyTime reannounce_at_ = SteadyTime::max();
  std::uint64_t random_state_ = 0;
  std::map<int, std::string> ghosts_in_flight_;  // message id → recorded topic being emptied

  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> connected_{false};
  metrics::Counter& superseded_;
  metrics::Counter& queue_full_;
  metrics::Counter& reconnects_;
  metrics::Gauge& pending_;
  std::map<std::string, metrics::Counter*, std::less<>> published_;  // by kind
};

}  // namespace sunkeep::mqtt
