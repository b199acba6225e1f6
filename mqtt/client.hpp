// One MQTT 3.1.1 connection on libmosquitto, driven from the caller's thread (the publisher's):
// connect (name resolution, TCP and TLS happen here), publish, subscribe, and wait for socket
// activity or a wake-up. A new Client per connection attempt, so nothing libmosquitto queued for
// a dead connection outlives it. Tracks the messages handed over and not yet written (QoS 0) or
// acknowledged (QoS 1), for the publisher's in-flight cap.
#pragma once

#include "config/mqtt.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>

struct mosquitto;

namespace sunkeep::mqtt {

struct ClientSettings {
  config::MqttUrl url;
  std::string client_id;
  std::string username;
  std::string password;
  std::chrono::seconds keepalive{60};
  std::string tls_ca_file;  // "" = the system trust store
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_insecure = false;
  std::string will_topic;  // gets "offline", retained, QoS 1
};

struct ClientEvents {
  std::function<void()> connected;                  // CONNACK accepted
  std::function<void(const std::string&)> lost;     // the connection ended or was refused: why
  std::function<void(const std::string&, const std::string&)> message;  // topic, payload
  std::function<void(int)> delivered;  // a QoS 1 message's PUBACK arrived (its message id)
};

class Client {
 public:
  Client(const ClientSettings& settings, ClientEvents events);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Opens the connection and sends CONNECT; "" when under way (events.connected follows), else
  // why it failed.
  std::string connect();
  // Hands a message to the connection: its message id, or nullopt when it is not connected.
  std::optional<int> publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  void subscribe(const std::string& topic);
  void disconnect();
  // Waits up to `timeout` for the socket or `wake_fd`, then reads, writes and keeps alive.
  void run_once(int wake_fd, std::chrono::milliseconds timeout);

  [[nodiscard]] bool has_socket() const;
  [[nodiscard]] bool connected() const { return connected_; }
  // Messages handed over and not yet written (QoS 0) or acknowledged (QoS 1).
  [[nodiscard]] std::size_t in_flight() const { return in_flight_.size(); }

 private:
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);
  static void on_log(struct mosquitto*, void* self, int level, const char* text);
  void lose(const std::string& why);
  // `why` with libmosquitto's newest error line (e.g. OpenSSL's reason), which it then forgets.
  std::string with_library_reason(const std::string& why);

  ClientEvents events_;
  config::MqttUrl url_;
  std::chrono::seconds keepalive_;
  struct mosquitto* handle_ = nullptr;
  std::set<int> in_flight_;
  std::set<int> written_early_;  // reported written before mosquitto_publish() returned its id
  bool connected_ = false;
  bool lost_ = false;
  std::string last_error_log_;  // libmosquitto's newest error line (e.g. OpenSSL's reason)
};

}  // namespace sunkeep::mqtt
