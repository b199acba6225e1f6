// A test MQTT client on libmosquitto (MQTT 3.1.1, plain TCP to 127.0.0.1): it subscribes to a
// topic filter and records every message, and can publish (e.g. Home Assistant's birth message).
// libmosquitto's own thread does the network I/O and reconnects (and subscribes again) after the
// broker went away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct mosquitto;
struct mosquitto_message;

namespace sunkeep::test {

struct MqttMessage {
  std::string topic;
  std::string payload;
  bool retained = false;  // the broker sent it as a retained message (only on subscribing)
  int qos = 0;
  std::chrono::steady_clock::time_point received;
};

struct SubscriberOptions {
  std::string username;
  std::string password;
  std::string client_id;  // "" = a unique one
};

class MqttSubscriber {
 public:
  // Connects to 127.0.0.1:`port`, subscribes to `filter` with QoS 1 and returns once the SUBACK
  // has arrived (at most 5 s); throws std::runtime_error if the connection is refused, the
  // subscription fails or the time runs out.
  explicit MqttSubscriber(std::uint16_t port, std::string filter = "#", SubscriberOptions options = {});
  // Disconnects and stops the network thread (bounded).
  ~MqttSubscriber();
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  // Everything received since the start (or clear()), in order.
  [[nodiscard]] std::vector<MqttMessage> messages() const;
  // Per topic the payload of the newest message, topics whose newest payload is empty left out
  // (an empty retained message deletes a retained one). A broker sends live messages with the
  // retain flag clear even when they were published retained, so this cannot tell retained from
  // live ones: it is what a new subscriber would get if everything published was retained. For
  // the exact set use retained_messages().
  [[nodiscard]] std::map<std::string, std::string> retained_view() const;
  // The payload of the newest message on `topic`.
  [[nodiscard]] std::optional<std::string> last(const std::string& topic) const;
  [[nodiscard]] std::size_t count(const std::string& topic) const;
  void clear();  // forgets the messages received so far

  // Publishes and returns once the broker acknowledged it (QoS 1 or 2) or it was sent (QoS 0),
  // at most 5 s; throws std::runtime_error otherwise.
  void publish(const std::string& topic, const std::string& payload, bool retain = false, int qos = 1);

  // Checks `condition` every 20 ms until it holds or `timeout` passed; returns its last result.
  bool wait_for(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Connected (CONNACK accepted) and not disconnected since.
  [[nodiscard]] bool connected() const;

 private:
  static void on_connect(struct mosquitto* client, void* self, int code);
  static void on_disconnect(struct mosquitto* client, void* self, int code);
  static void on_subscribe(struct mosquitto* client, void* self, int mid, int count, const int* granted);
  static void on_message(struct mosquitto* client, void* self, const struct mosquitto_message* message);
  static void on_publish(struct mosquitto* client, void* self, int mid);
  void shut_down();

  std::string filter_;
  struct mosquitto* client_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<MqttMessage> messages_;
  bool connected_ = false;
  bool disconnected_ = false;  // on_disconnect seen since the last connect
  int refused_ = 0;            // the last CONNACK's refusal code, 0 = none
  int subscribe_mid_ = -1;
  bool subscribed_ = false;
  bool subscribe_failed_ = false;
  std::set<int> completed_;  // message ids of our publications the broker acknowledged
};

// What the broker holds retained under `filter`, as a fresh client sees it: connects, subscribes,
// waits 300 ms after the SUBACK and returns topic → payload of every message that came with the
// retained flag, then disconnects. Give options.client_id only if it differs from any other
// client's (the broker would drop the older one).
std::map<std::string, std::string> retained_messages(std::uint16_t port, const std::string& filter = "#",
                                                     SubscriberOptions options = {});

}  // namespace sunkeep::test
