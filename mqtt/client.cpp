// The libmosquitto connection.
#include "mqtt/client.hpp"

#include <mosquitto.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace sunkeep::mqtt {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

}  // namespace

Client::Client(const ClientSettings& s, ClientEvents events)
    : events_(std::move(events)), url_(s.url), keepalive_(s.keepalive) {
  init_library();
  handle_ = mosquitto_new(s.client_id.c_str(), true, this);
  if (handle_ == nullptr) throw std::runtime_error("mqtt: cannot make a client: " + std::string(std::strerror(errno)));
  mosquitto_int_option(handle_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // The publisher caps what is in flight (max_pending); libmosquitto's own cap of 20 would hold
  // the rest in a queue of its own.
  mosquitto_int_option(handle_, MOSQ_OPT_SEND_MAXIMUM, 65535);
  // A state is one small packet: sent at once, not held back by Nagle's algorithm.
  mosquitto_int_option(handle_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(handle_, on_connect);
  mosquitto_disconnect_callback_set(handle_, on_disconnect);
  mosquitto_publish_callback_set(handle_, on_publish);
  mosquitto_log_callback_set(handle_, on_log);
  mosquitto_message_callback_set(handle_, [](struct mosquitto*, void* self, const struct mosquitto_message* m) {
    auto* client = static_cast<Client*>(self);
    if (!client->events_.message || m == nullptr || m->topic == nullptr) return;
    const std::string payload(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen));
    client->events_.message(m->topic, payload);
  });
  static constexpr std::string_view offline = "offline";
  mosquitto_will_set(handle_, s.will_topic.c_str(), static_cast<int>(offline.size()), offline.data(), 1, true);
  if (!s.username.empty()) mosquitto_username_pw_set(handle_, s.username.c_str(), s.password.c_str());
  if (!s.url.tls) return;
  if (s.tls_ca_file.empty()) mosquitto_int_option(handle_, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
  if (!s.tls_ca_file.empty() || !s.tls_cert_file.empty()) {
    const char* ca = s.tls_ca_file.empty() ? nullptr : s.tls_ca_file.c_str();
    const char* ca_path = s.tls_ca_file.empty() ? "/etc/ssl/certs" : nullptr;
    const char* cert = s.tls_cert_file.empty() ? nullptr : s.tls_cert_file.c_str();
    const char* key = s.tls_key_file.empty() ? nullptr : s.tls_key_file.c_str();
    if (const int rc = mosquitto_tls_set(handle_, ca, ca_path, cert, key, nullptr); rc != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy(handle_);
      throw std::runtime_error("mqtt: the TLS files cannot be used: " + error_text(rc));
    }
  }
  if (s.tls_insecure) mosquitto_tls_insecure_set(handle_, true);
}

Client::~Client() { mosquitto_destroy(handle_); }

std::string Client::connect() {
  const int rc = mosquitto_connect(handle_, url_.host.c_str(), url_.port, static_cast<int>(keepalive_.count()));
  if (rc == MOSQ_ERR_SUCCESS) return "";
  return with_library_reason(error_text(rc));
}

std::optional<int> Client::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  if (!connected_) return std::nullopt;
  int mid = 0;
  const int rc = mosquitto_publish(handle_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) return std::nullopt;
  // A QoS 0 message written at once was reported done inside mosquitto_publish().
  if (written_early_.erase(mid) == 0) in_flight_.insert(mid);
  return mid;
}

void Client::subscribe(const std::string& topic) { mosquitto_subscribe(handle_, nullptr, topic.c_str(), 1); }

void Client::disconnect() { mosquitto_disconnect(handle_); }

bool Client::has_socket() const { return !lost_ && mosquitto_socket(handle_) >= 0; }

void Client::run_once(int wake_fd, std::chrono::milliseconds timeout) {
  const int socket = mosquitto_socket(handle_);
  pollfd fds[2] = {{wake_fd, POLLIN, 0}, {socket, POLLIN, 0}};
  if (mosquitto_want_write(handle_)) fds[1].events |= POLLOUT;
  const nfds_t count = socket >= 0 && !lost_ ? 2 : 1;
  if (::poll(fds, count, static_cast<int>(timeout.count())) < 0 && errno != EINTR) return;
  if (count == 2) {
    int rc = MOSQ_ERR_SUCCESS;
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) rc = mosquitto_loop_read(handle_, 1);
    if (rc == MOSQ_ERR_SUCCESS && (fds[1].revents & POLLOUT) != 0) rc = mosquitto_loop_write(handle_, 1);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(handle_);
    if (rc != MOSQ_ERR_SUCCESS) lose(error_text(rc));
  }
}

void Client::lose(const std::string& why) {
  if (lost_) return;
  lost_ = true;
  connected_ = false;
  in_flight_.clear();
  written_early_.clear();
  if (events_.lost) events_.lost(with_library_reason(why));
}

std::string Client::with_library_reason(const std::string& why) {
  if (last_error_log_.empty()) return why;
  std::string out = why + ": " + last_error_log_;
  last_error_log_.clear();
  return out;
}

void Client::on_connect(struct mosquitto*, void* self, int rc) {
  auto* client = static_cast<Client*>(self);
  if (rc != 0) {
    client->lose(std::string("the broker refused the connection: ") + mosquitto_connack_string(rc));
    mosquitto_disconnect(client->handle_);
    return;
  }
  client->connected_ = true;
  if (client->events_.connected) client->events_.connected();
}

void Client::on_disconnect(struct mosquitto*, void* self, int rc) {
  auto* client = static_cast<Client*>(self);
  client->lose(rc == MOSQ_ERR_SUCCESS ? "disconnected" : error_text(rc));
}

void Client::on_publish(struct mosquitto*, void* self, int mid) {
  auto* client = static_cast<Client*>(self);
  if (client->in_flight_.erase(mid) == 0) {
    client->written_early_.insert(mid);
  } else if (client->events_.delivered) {
    client->events_.delivered(mid);
  }
}

void Client::on_log(struct mosquitto*, void* self, int level, const char* text) {
  if (level == MOSQ_LOG_ERR && text != nullptr) static_cast<Client*>(self)->last_error_log_ = text;
}

}  // namespace sunkeep::mqtt
