// What the MQTT publisher sends next, and when (mqtt.md §3.2, §4.3): per device the dirty flags
// of its discovery, availability, device object, state and events; the server's status, info and
// discovery; re-announcing after a (re)connect or Home Assistant's birth; the retained topics
// recorded, and the ghosts to empty. No network, no threads, no clock of its own: the publisher
// hands it states and the time and sends the messages next() gives, one at a time.
#pragma once

#include "common/device_state.hpp"
#include "mqtt/messages.hpp"
#include "mqtt/publisher.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::mqtt {

struct OutMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = true;
  std::string_view kind;  // the `kind` label of sunkeep_mqtt_messages_published_total
};

// sunkeep_mqtt_messages_dropped_total{reason} (`superseded` or `queue_full`).
metrics::Counter& dropped_counter(metrics::Registry& metrics, std::string_view reason);

class Announcer {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Announcer(const PublisherSettings& settings, const PublisherHooks& hooks, metrics::Registry& metrics);

  // A device's newest committed state and its new events.
  void take(const std::string& id, std::shared_ptr<const DeviceState> state, std::deque<DeviceEvent> events,
            UtcMillis now, SteadyTime steady_now);
  // After a (re)connect (`after_connect`: then also the ghosts) or HA's birth: everything again.
  void announce(bool after_connect);
  // Once a second: availability changes and info.
  void tick(UtcMillis now, SteadyTime steady_now);
  // States whose publish_interval has passed become due (call on every pass).
  void release_due(SteadyTime steady_now);
  // The broker acknowledged the empty payload on a recorded topic: forget the topic.
  void forget(const std::string& topic);
  // The next message to send now, if any.
  std::optional<OutMessage> next(UtcMillis now, SteadyTime steady_now);
  // When a state held back by publish_interval becomes due (max() when none).
  [[nodiscard]] SteadyTime next_due() const;

  // Retained topics published (topic, kind) and emptied since the last call, to record.
  std::pair<std::vector<std::pair<std::string, std::string>>, std::vector<std::string>> take_topic_records();

  [[nodiscard]] std::size_t devices() const { return entries_.size(); }
  [[nodiscard]] std::string status_topic() const { return base_ + "/status"; }
  [[nodiscard]] std::string birth_topic() const { return discovery_.discovery_prefix + "/status"; }

 private:
  struct Entry {
    std::string id;
    std::string node;
    std::shared_ptr<const DeviceState> state;
    std::map<std::string, UtcMillis, std::less<>> published_times;  // per metric, of the last state sent
    UtcMillis published_time = 0;  // the `time` of the last state sent
    std::string discovery_key;
    std::string device_object;  // its device object now (device_dirty: not yet published)
    std::optional<bool> online_published;
    bool online = false;
    bool discovery_dirty = false;
    bool availability_dirty = false;
    bool device_dirty = false;
    bool state_pending = false;  // values newer than those published
    bool state_forced = false;   // the announce: its newest fresh state, new or not
    SteadyTime state_allowed{};
    bool in_due = false;  // listed in due_
    std::deque<DeviceEvent> events;
  };

  Entry& entry_of(const std::string& id, const DeviceState& state);
  void note_state(Entry& e, std::shared_ptr<const DeviceState> state, UtcMillis now);
  void schedule(Entry& e, SteadyTime steady_now);
  [[nodiscard]] bool has_work(const Entry& e, SteadyTime steady_now) const;
  [[nodiscard]] int rank(const Entry& e) const { return e.state && e.state->parent ? 1 : 0; }
  // The messages of one step of `e`, queued in ready_.
  void step(Entry& e, UtcMillis now, SteadyTime steady_now);
  // A discovery payload and how its topic is recorded ("component:<identifier>" or "").
  struct Discovery {
    Publication publication;
    std::string record_kind;
  };
  // The discovery payloads of the configured mode, of the server and of a device.
  [[nodiscard]] std::vector<Discovery> server_discovery() const;
  [[nodiscard]] std::vector<Discovery> device_discovery_of(const DeviceState& state) const;
  // Queues `publications` of the device `identifier`, after HA's migration where it applies.
  void queue_discoveries(const std::string& identifier, std::vector<Discovery> publications);
  // Whether a metric is published (a canonical one with an HA class, or any with vendor_metrics).
  [[nodiscard]] bool shown(const std::string& name, const LatestValue& value) const;
  void queue_state(Entry& e, UtcMillis now, SteadyTime steady_now);
  // HA's migration (component → device mode): migrate_discovery on each recorded component topic
  // of `identifier`, before its device payload.
  void queue_migration(const std::string& identifier);
  void queue_info();
  void plan_cleanup();
  void queue_retained(std::string topic, std::string payload, std::string_view kind, std::string record_kind = "");
  [[nodiscard]] std::set<std::string> generated_topics() const;
  [[nodiscard]] std::string discovery_key(const DeviceState& state) const;

  const config::MqttConfig& config_;
  const PublisherHooks& hooks_;
  metrics::Registry& metrics_;
  std::string base_;
  DiscoveryContext discovery_;
  Info info_;
  std::map<std::string, Entry> entries_;
  std::set<std::pair<int, std::string>> dirty_;
  std::multimap<SteadyTime, std::string> due_;
  std::set<std::string> announcing_;  // devices whose discovery the running announce has not sent
  std::deque<OutMessage> ready_;
  bool status_dirty_ = false;
  bool server_dirty_ = false;
  bool info_dirty_ = false;
  bool cleanup_wanted_ = false;
  std::deque<std::string> ghosts_;
  std::pair<std::size_t, std::size_t> info_counts_{SIZE_MAX, SIZE_MAX};
  SteadyTime info_allowed_{};
  std::map<std::string, std::string> recorded_;  // retained topic → kind
  std::set<std::string> migrated_;
  std::vector<std::pair<std::string, std::string>> newly_recorded_;
  std::vector<std::string> newly_emptied_;
  metrics::Counter& superseded_;
  metrics::Counter& queue_full_;
};

}  // namespace sunkeep::mqtt
