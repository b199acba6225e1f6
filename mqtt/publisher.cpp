// The MQTT publisher thread: connection lifecycle, hand-off, in-flight cap, shutdown.
#include "mqtt/publisher.hpp"

#include "mqtt/announcer.hpp"
#include "mqtt/backoff.hpp"
#include "mqtt/client.hpp"

#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace sunkeep::mqtt {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto tick_interval = std::chrono::seconds(1);
constexpr auto connack_timeout = std::chrono::seconds(10);
constexpr auto offline_grace = std::chrono::milliseconds(1000);
constexpr auto birth_delay_max_ms = 5000;

// "$CREDENTIALS_DIRECTORY/x" or "${CREDENTIALS_DIRECTORY}/x": systemd's LoadCredential= folder.
std::string expand_credentials(const std::string& path) {
  for (const std::string_view prefix : {"$CREDENTIALS_DIRECTORY", "${CREDENTIALS_DIRECTORY}"}) {
    if (!path.starts_with(prefix)) continue;
    const char* folder = std::getenv("CREDENTIALS_DIRECTORY");
    if (folder == nullptr) {
      throw std::runtime_error("mqtt.password_file: " + path + " names $CREDENTIALS_DIRECTORY, which is not set");
    }
    return folder + path.substr(prefix.size());
  }
  return path;
}

std::string read_password_file(const std::string& configured) {
  const std::string path = expand_credentials(configured);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("mqtt.password_file: cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  if (password.ends_with("\r\n")) {
    password.resize(password.size() - 2);
  } else if (password.ends_with('\n')) {
    password.pop_back();
  }
  return password;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace

PublisherSettings resolve_settings(const config::MqttConfig& config, std::string version, UtcMillis started) {
  PublisherSettings s{.config = config, .password = config.password, .version = std::move(version), .started = started};
  if (!config.password_file.empty()) s.password = read_password_file(config.password_file);
  if (s.config.instance_id.empty()) s.config.instance_id = config::instance_id_from_host(host_name());
  if (s.config.client_id.empty()) s.config.client_id = "sunkeep-" + s.config.instance_id;
  return s;
}

Publisher::Publisher(PublisherSettings settings, PublisherHooks hooks, metrics::Registry& metrics)
    : settings_(std::move(settings)),
      hooks_(std::move(hooks)),
      metrics_(metrics),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      superseded_(dropped_counter(metrics, "superseded")),
      queue_full_(dropped_counter(metrics, "queue_full")),
      reconnects_(metrics.counter("sunkeep_mqtt_reconnects_total",
                                  "Connections to the MQTT broker made again after one was lost.")),
      pending_(metrics.gauge("sunkeep_mqtt_pending_messages",
                             "MQTT messages handed to the client and not yet written (QoS 0) or acknowledged (QoS 1).")) {
  if (wake_fd_ < 0) throw std::runtime_error("mqtt: eventfd: " + std::string(std::strerror(errno)));
  announcer_ = std::make_unique<Announcer>(settings_, hooks_, metrics_);
  metrics_.gauge_reading("sunkeep_mqtt_connected", "1 while connected to the MQTT broker.", {},
                         [this] { return connected_.load() ? 1.0 : 0.0; });
  for (const char* kind : {"state", "availability", "discovery", "status", "device", "event", "vendor"}) {
    published_[kind] = &metrics_.counter("sunkeep_mqtt_messages_published_total",
                                         "MQTT messages handed to the broker connection.", {{"kind", kind}});
  }
  random_state_ = std::random_device{}();
}

Publisher::~Publisher() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Publisher::start() {
  if (settings_.config.tls_insecure) spdlog::warn("mqtt: tls_insecure is set: the broker's host name is not verified");
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

void Publisher::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void Publisher::updated(std::vector<DeviceUpdate> updates) {
  bool any = false;
  {
    const std::lock_guard lock(handoff_mutex_);
    for (auto& update : updates) {
      const std::string id = update.state->vendor + ":" + update.state->serial;
      Slot& slot = slots_[id];
      if (slot.state && slot.queued) ++superseded_;
      slot.state = std::move(update.state);
      for (auto& event : update.events) {
        if (slot.events.size() >= events_per_device) {
          slot.events.pop_front();
          ++queue_full_;
        }
        slot.events.push_back(std::move(event));
      }
      if (!slot.queued) {
        slot.queued = true;
        queued_.push_back(id);
        any = true;
      }
    }
  }
  if (any) wake();
}

void Publisher::take_handoffs() {
  std::vector<std::pair<std::string, Slot>> taken;
  {
    const std::lock_guard lock(handoff_mutex_);
    for (const auto& id : queued_) {
      Slot& slot = slots_[id];
      taken.emplace_back(id, Slot{std::move(slot.state), std::move(slot.events), false});
      slot.events.clear();
      slot.queued = false;
    }
    queued_.clear();
  }
  const UtcMillis now = hooks_.clock();
  const auto steady_now = SteadyClock::now();
  for (auto& [id, slot] : taken) {
    if (slot.state) announcer_->take(id, std::move(slot.state), std::move(slot.events), now, steady_now);
  }
}

void Publisher::begin_stop() {
  stopping_ = true;
  wake();
}

void Publisher::finish_stop(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return;
  while (!finished_.load() && SteadyClock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (finished_.load()) {
    thread_.join();
  } else {
    spdlog::warn("mqtt: still busy at shutdown; left behind");
    thread_.detach();  // it holds its own reference to this publisher
  }
}

std::string Publisher::url_text() const { return settings_.config.url; }

void Publisher::run() {
  next_tick_ = SteadyClock::now();
  while (!stopping_.load()) {
    try {
      pass(SteadyClock::now());
    } catch (const std::exception& e) {
      // Nothing of MQTT may take the server down: log, drop the connection, go on.
      spdlog::error("mqtt: {} (the connection is made again)", e.what());
      if (client_) on_lost(e.what());
    }
  }
  shut_down();
  finished_ = true;
}

void Publisher::pass(SteadyTime now) {
  if (drop_client_) {
    client_.reset();
    drop_client_ = false;
  }
  if (!client_ && now >= retry_at_) try_connect();
  if (stopping_.load()) return;  // a connect may have taken long: the server may be going away
  if (client_ && !drop_client_ && !client_->connected() && client_->has_socket() &&
      now - attempt_started_ > connack_timeout) {
    on_lost("no answer from the broker within " + std::to_string(connack_timeout.count()) + " s");
  }
  take_handoffs();
  if (now >= next_tick_) {
    announcer_->tick(hooks_.clock(), now);
    next_tick_ = now + tick_interval;
  }
  announcer_->release_due(now);
  if (now >= reannounce_at_) {
    reannounce_at_ = SteadyTime::max();
    announcer_->announce(false);
  }
  pump();
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_wake() - SteadyClock::now());
  const auto timeout = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
  if (client_ && !drop_client_) {
    client_->run_once(wake_fd_, timeout);
  } else {
    pollfd fd{wake_fd_, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(timeout.count()));
  }
  std::uint64_t count = 0;
  [[maybe_unused]] const auto drained = ::read(wake_fd_, &count, sizeof count);
  if (client_) pending_.set(static_cast<std::int64_t>(client_->in_flight()));
}

Publisher::SteadyTime Publisher::next_wake() const {
  SteadyTime at = std::min({next_tick_, announcer_->next_due(), reannounce_at_});
  if (!client_) at = std::min(at, retry_at_);
  return at;
}

void Publisher::pump() {
  if (!client_ || !client_->connected()) return;
  const UtcMillis now = hooks_.clock();
  const auto steady_now = SteadyClock::now();
  while (client_->in_flight() < settings_.config.max_pending) {
    auto message = announcer_->next(now, steady_now);
    if (!message) break;
    const auto mid = client_->publish(message->topic, message->payload, message->qos, message->retain);
    if (!mid) break;
    if (message->payload.empty() && message->retain) ghosts_in_flight_[*mid] = message->topic;
    if (const auto it = published_.find(message->kind); it != published_.end()) ++*it->second;
  }
  auto [recorded, emptied] = announcer_->take_topic_records();
  if ((!recorded.empty() || !emptied.empty()) && hooks_.record_topics) hooks_.record_topics(std::move(recorded), std::move(emptied));
}

void Publisher::try_connect() {
  ClientSettings s{.url = *config::parse_mqtt_url(settings_.config.url),
                   .client_id = settings_.config.client_id,
                   .username = settings_.config.username,
                   .password = settings_.password,
                   .keepalive = std::chrono::duration_cast<std::chrono::seconds>(settings_.config.keepalive),
                   .tls_ca_file = settings_.config.tls_ca_file,
                   .tls_cert_file = settings_.config.tls_cert_file,
                   .tls_key_file = settings_.config.tls_key_file,
                   .tls_insecure = settings_.config.tls_insecure,
                   .will_topic = announcer_->status_topic()};
  try {
    client_ = std::make_unique<Client>(s, ClientEvents{[this] { on_connected(); },
                                                       [this](const std::string& why) { on_lost(why); },
                                                       [this](const std::string& topic, const std::string& payload) {
                                                         on_message(topic, payload);
                                                       },
                                                       [this](int mid) {
                                                         const auto it = ghosts_in_flight_.find(mid);
                                                         if (it == ghosts_in_flight_.end()) return;
                                                         announcer_->forget(it->second);
                                                         ghosts_in_flight_.erase(it);
                                                       }});
  } catch (const std::exception& e) {
    on_lost(e.what());
    return;
  }
  const auto why = client_->connect();
  attempt_started_ = SteadyClock::now();  // the CONNACK is awaited from here
  if (stopping_.load()) return;           // the server is going away: no log, no metrics
  if (!why.empty()) on_lost("cannot connect to " + url_text() + ": " + why);
}

void Publisher::on_connected() {
  connected_ = true;
  connected_at_ = SteadyClock::now();
  told_disconnected_ = false;
  if (was_connected_) ++reconnects_;
  was_connected_ = true;
  spdlog::info("mqtt: connected to {}", url_text());
  if (settings_.config.discovery) client_->subscribe(announcer_->birth_topic());
  announcer_->announce(true);
}

void Publisher::on_lost(const std::string& why) {
  drop_client_ = true;
  ghosts_in_flight_.clear();  // not acknowledged: still recorded, emptied after the next connect
  if (stopping_.load()) return;
  const auto now = SteadyClock::now();
  if (connected_.exchange(false)) backoff_.connection_lasted(now - connected_at_);
  random_state_ = random_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const double jitter = static_cast<double>(random_state_ >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
  const auto delay = backoff_.next(jitter);
  retry_at_ = now + delay;
  drop_client_ = true;
  pending_.set(0);
  if (told_disconnected_) return;
  told_disconnected_ = true;
  spdlog::warn("mqtt: disconnected ({}), retrying in {} s", why, (delay.count() + 500) / 1000);
}

void Publisher::on_message(const std::string& topic, const std::string& payload) {
  if (topic != announcer_->birth_topic() || payload != "online") return;
  random_state_ = random_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto delay = std::chrono::milliseconds((random_state_ >> 33) % birth_delay_max_ms);
  reannounce_at_ = std::min(reannounce_at_, SteadyClock::now() + delay);
  spdlog::info("mqtt: Home Assistant came online; announcing again in {} ms", delay.count());
}

void Publisher::shut_down() {
  if (!client_ || !client_->connected()) return;
  client_->publish(announcer_->status_topic(), "offline", 1, true);
  const auto deadline = SteadyClock::now() + offline_grace;
  while (client_->connected() && client_->in_flight() > 0 && SteadyClock::now() < deadline) {
    client_->run_once(wake_fd_, std::chrono::milliseconds(20));
    std::uint64_t count = 0;
    [[maybe_unused]] const auto drained = ::read(wake_fd_, &count, sizeof count);
  }
  if (client_->connected()) {
    client_->disconnect();
    client_->run_once(wake_fd_, std::chrono::milliseconds(0));
  }
}

}  // namespace sunkeep::mqtt
