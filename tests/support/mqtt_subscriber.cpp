// The libmosquitto test client (mqtt_subscriber.hpp). The callbacks run on libmosquitto's network
// thread and only copy what arrived into the members under the mutex; the constructor, publish()
// and the destructor wait for them on a condition variable, always bounded.
#include "tests/support/mqtt_subscriber.hpp"

#include <mosquitto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <utility>

namespace sunkeep::test {

namespace {

using namespace std::chrono_literals;

constexpr auto answer_limit = 5s;      // CONNACK + SUBACK, PUBACK
constexpr auto disconnect_limit = 2s;  // the broker seeing our DISCONNECT
constexpr int keepalive_seconds = 10;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string unique_client_id() {
  static std::atomic<unsigned> counter{0};
  return "sk-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

MqttSubscriber* self_of(void* self) { return static_cast<MqttSubscriber*>(self); }

}  // namespace

MqttSubscriber::MqttSubscriber(std::uint16_t port, std::string filter, SubscriberOptions options)
    : filter_(std::move(filter)) {
  init_library();
  const std::string id = options.client_id.empty() ? unique_client_id() : options.client_id;
  client_ = mosquitto_new(id.c_str(), true, this);
  if (client_ == nullptr) throw std::runtime_error("MQTT subscriber: mosquitto_new failed");
  bool loop_started = false;
  try {
    mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (!options.username.empty()) {
      mosquitto_username_pw_set(client_, options.username.c_str(),
                                options.password.empty() ? nullptr : options.password.c_str());
    }
    mosquitto_connect_callback_set(client_, &MqttSubscriber::on_connect);
    mosquitto_disconnect_callback_set(client_, &MqttSubscriber::on_disconnect);
    mosquitto_subscribe_callback_set(client_, &MqttSubscriber::on_subscribe);
    mosquitto_message_callback_set(client_, &MqttSubscriber::on_message);
    mosquitto_publish_callback_set(client_, &MqttSubscriber::on_publish);
    mosquitto_reconnect_delay_set(client_, 1, 1, false);
    const std::string where = "MQTT subscriber " + id + " on 127.0.0.1:" + std::to_string(port);
    if (const int rc = mosquitto_connect(client_, "127.0.0.1", port, keepalive_seconds); rc != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error(where + ": cannot connect: " + mosquitto_strerror(rc));
    }
    if (const int rc = mosquitto_loop_start(client_); rc != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error(where + ": mosquitto_loop_start failed: " + mosquitto_strerror(rc));
    }
    loop_started = true;
    std::unique_lock lock(mutex_);
    const bool answered =
        changed_.wait_for(lock, answer_limit, [&] { return subscribed_ || subscribe_failed_ || refused_ != 0; });
    if (refused_ != 0) throw std::runtime_error(where + ": connection refused: " + mosquitto_connack_string(refused_));
    if (subscribe_failed_) throw std::runtime_error(where + ": the broker refused the subscription to " + filter_);
    if (!answered) {
      throw std::runtime_error(where + (connected_ ? ": no SUBACK" : ": no CONNACK") + " within 5 s");
    }
  } catch (...) {
    if (!loop_started) {
      mosquitto_destroy(client_);
      client_ = nullptr;
    }
    shut_down();
    throw;
  }
}

MqttSubscriber::~MqttSubscriber() { shut_down(); }

void MqttSubscriber::shut_down() {
  if (client_ == nullptr) return;
  // mosquitto_disconnect also tells the network thread to end instead of reconnecting. If no
  // DISCONNECT could be sent, or the broker did not take it in time (e.g. it is paused), the
  // thread may be waiting or reconnecting: it is cancelled.
  bool clean = false;
  if (mosquitto_disconnect(client_) == MOSQ_ERR_SUCCESS) {
    std::unique_lock lock(mutex_);
    clean = changed_.wait_for(lock, disconnect_limit, [&] { return disconnected_; });
  }
  mosquitto_loop_stop(client_, !clean);
  mosquitto_destroy(client_);
  client_ = nullptr;
}

// --- callbacks, on libmosquitto's thread ---

void MqttSubscriber::on_connect(struct mosquitto* client, void* self, int code) {
  MqttSubscriber& s = *self_of(self);
  if (code != 0) {
    std::lock_guard lock(s.mutex_);
    s.refused_ = code;
    s.changed_.notify_all();
    return;
  }
  {
    std::lock_guard lock(s.mutex_);
    s.connected_ = true;
    s.disconnected_ = false;
    s.refused_ = 0;
    s.subscribed_ = false;
  }
  // Also after a reconnect: the session is clean, so the subscription is made again.
  int mid = 0;
  const int rc = mosquitto_subscribe(client, &mid, s.filter_.c_str(), 1);
  std::lock_guard lock(s.mutex_);
  if (rc == MOSQ_ERR_SUCCESS) {
    s.subscribe_mid_ = mid;
  } else {
    s.subscribe_failed_ = true;
  }
  s.changed_.notify_all();
}

void MqttSubscriber::on_disconnect(struct mosquitto*, void* self, int) {
  MqttSubscriber& s = *self_of(self);
  std::lock_guard lock(s.mutex_);
  s.connected_ = false;
  s.disconnected_ = true;
  s.changed_.notify_all();
}

void MqttSubscriber::on_subscribe(struct mosquitto*, void* self, int mid, int count, const int* granted) {
  MqttSubscriber& s = *self_of(self);
  std::lock_guard lock(s.mutex_);
  if (mid != s.subscribe_mid_) return;
  if (count < 1 || granted[0] > 2) {
    s.subscribe_failed_ = true;
  } else {
    s.subscribed_ = true;
  }
  s.changed_.notify_all();
}

void MqttSubscriber::on_message(struct mosquitto*, void* self, const struct mosquitto_message* message) {
  MqttSubscriber& s = *self_of(self);
  MqttMessage copy;
  copy.topic = message->topic != nullptr ? message->topic : "";
  if (message->payload != nullptr && message->payloadlen > 0) {
    copy.payload.assign(static_cast<const char*>(message->payload), static_cast<std::size_t>(message->payloadlen));
  }
  copy.retained = message->retain;
  copy.qos = message->qos;
  copy.received = std::chrono::steady_clock::now();
  std::lock_guard lock(s.mutex_);
  s.messages_.push_back(std::move(copy));
  s.changed_.notify_all();
}

void MqttSubscriber::on_publish(struct mosquitto*, void* self, int mid) {
  MqttSubscriber& s = *self_of(self);
  std::lock_guard lock(s.mutex_);
  s.completed_.insert(mid);
  s.changed_.notify_all();
}

// --- what the test uses ---

std::vector<MqttMessage> MqttSubscriber::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::map<std::string, std::string> MqttSubscriber::retained_view() const {
  std::map<std::string, std::string> view;
  std::lock_guard lock(mutex_);
  for (const auto& message : messages_) view[message.topic] = message.payload;
  std::erase_if(view, [](const auto& entry) { return entry.second.empty(); });
  return view;
}

std::optional<std::string> MqttSubscriber::last(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if (it->topic == topic) return it->payload;
  }
  return std::nullopt;
}

std::size_t MqttSubscriber::count(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(messages_.begin(), messages_.end(), [&](const MqttMessage& m) { return m.topic == topic; }));
}

void MqttSubscriber::clear() {
  std::lock_guard lock(mutex_);
  messages_.clear();
}

void MqttSubscriber::publish(const std::string& topic, const std::string& payload, bool retain, int qos) {
  int mid = 0;
  const int rc =
      mosquitto_publish(client_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    throw std::runtime_error("MQTT subscriber: publishing to " + topic + " failed: " + mosquitto_strerror(rc));
  }
  std::unique_lock lock(mutex_);
  const bool done = changed_.wait_for(lock, answer_limit, [&] { return completed_.contains(mid); });
  completed_.erase(mid);
  if (!done) throw std::runtime_error("MQTT subscriber: publishing to " + topic + " was not acknowledged within 5 s");
}

bool MqttSubscriber::wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(20ms);
  }
}

bool MqttSubscriber::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

std::map<std::string, std::string> retained_messages(std::uint16_t port, const std::string& filter,
                                                     SubscriberOptions options) {
  const MqttSubscriber subscriber(port, filter, std::move(options));
  std::this_thread::sleep_for(300ms);
  std::map<std::string, std::string> retained;
  for (const auto& message : subscriber.messages()) {
    if (message.retained) retained[message.topic] = message.payload;
  }
  return retained;
}

}  // namespace sunkeep::test
