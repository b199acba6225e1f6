// The live stream.
#include "server/live_stream.hpp"

#include "server/connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace sunkeep::server {

namespace asio = boost::asio;

std::string sse_event(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

std::string device_latest_json(const DeviceState& device) {
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  for (const auto& [name, v] : device.metrics) {
    metrics[name] = {{"value", v.value}, {"unit", v.unit}, {"time", format_rfc3339(v.time)}};
  }
  const nlohmann::ordered_json body{{"device", device.vendor + ":" + device.serial}, {"metrics", metrics}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The site object without its time (its first field, Api::site_latest_json): a client gets a site
// event when anything else in it changed.
std::string site_content(const std::string& site) {
  const std::size_t body = site.find(",\"metrics\"");
  return body == std::string::npos ? site : site.substr(body);
}

}  // namespace

// ---- LiveClient ----

LiveClient::LiveClient(asio::any_io_executor strand, std::size_t queue_bytes)
    : strand_(std::move(strand)), timer_(strand_), queue_bytes_(queue_bytes) {}

asio::awaitable<std::optional<std::string>> LiveClient::next(std::chrono::milliseconds keepalive) {
  const auto deadline = std::chrono::steady_clock::now() + keepalive;
  while (true) {
    {
      const std::lock_guard lock(mutex_);
      if (dropped_) co_return std::nullopt;
      if (!queued_.empty()) co_return std::exchange(queued_, {});
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return std::string{};
    timer_.expires_at(deadline);
    co_await timer_.async_wait(tuple_awaitable);  // cancelled by wake()
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
  }
}

void LiveClient::set_cancel_write(std::function<void()> cancel_write) { cancel_write_ = std::move(cancel_write); }

LiveClient::Pushed LiveClient::push(const std::string& text) {
  Pushed pushed = Pushed::queued;
  {
    const std::lock_guard lock(mutex_);
    if (dropped_) return Pushed::dropped_before;
    if (queued_.size() + text.size() > queue_bytes_) {
      dropped_ = true;
      std::string().swap(queued_);
      pushed = Pushed::dropped_now;
    } else {
      queued_ += text;
    }
  }
  wake();
  return pushed;
}

LiveClient::Pushed LiveClient::push_site(const std::string& content, const std::string& text) {
  {
    const std::lock_guard lock(mutex_);
    if (dropped_) return Pushed::dropped_before;
    if (content == site_content_) return Pushed::unchanged;
    site_content_ = content;
  }
  return push(text);
}

bool LiveClient::dropped() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

// On the strand, so it never races the waiting coroutine: it wakes its wait, and a dropped
// client's stalled write is cancelled.
void LiveClient::wake() {
  asio::post(strand_, [self = shared_from_this()] {
    self->timer_.cancel();
    if (self->dropped() && self->cancel_write_) self->cancel_write_();
  });
}

// ---- LiveStream ----

LiveStream::LiveStream(LiveLimits limits, Hooks hooks, metrics::Registry& metrics)
    : limits_(limits),
      hooks_(std::move(hooks)),
      events_(metrics.counter("sunkeep_live_events_total", "Events queued for /api/v1/live clients.")),
      dropped_(metrics.counter("sunkeep_live_clients_dropped_total",
                               "/api/v1/live clients dropped for falling too far behind.")),
      refused_(metrics.counter("sunkeep_live_clients_refused_total",
                               "/api/v1/live streams refused with 503: [http] max_live_clients were open.")) {
  metrics.gauge_reading("sunkeep_live_clients", "/api/v1/live streams open now.", {}, [this] {
    const std::lock_guard lock(clients_mutex_);
    return static_cast<double>(clients_.size());
  });
}

std::shared_ptr<LiveClient> LiveStream::join(const asio::any_io_executor& strand) {
  auto client = std::make_shared<LiveClient>(strand, limits_.queue_bytes);
  {
    const std::lock_guard lock(clients_mutex_);
    if (clients_.size() >= limits_.max_clients) {
      ++refused_;
      return nullptr;
    }
    clients_.push_back(client);
  }
  const std::string site = hooks_.site_json(hooks_.clock());
  count(client->push_site(site_content(site), sse_event("site", site)));
  return client;
}

void LiveStream::leave(const std::shared_ptr<LiveClient>& client) {
  const std::lock_guard lock(clients_mutex_);
  std::erase(clients_, client);
}

std::vector<std::shared_ptr<LiveClient>> LiveStream::clients() {
  const std::lock_guard lock(clients_mutex_);
  return clients_;
}

void LiveStream::count(LiveClient::Pushed pushed) {
  if (pushed == LiveClient::Pushed::queued) ++events_;
  if (pushed == LiveClient::Pushed::dropped_now) ++dropped_;
}

void LiveStream::broadcast(const std::string& event, const std::string& data) {
  const std::string text = sse_event(event, data);
  for (const auto& client : clients()) count(client->push(text));
}

void LiveStream::send_site(const std::string& data) {
  const std::string content = site_content(data);
  const std::string text = sse_event("site", data);
  for (const auto& client : clients()) count(client->push_site(content, text));
}

void LiveStream::updated(std::vector<DeviceUpdate> updates) {
  {
    const std::lock_guard lock(clients_mutex_);
    if (clients_.empty()) return;
  }
  for (const auto& update : updates) broadcast("device", device_latest_json(*update.state));
}

void LiveStream::tick() {
  const UtcMillis now = hooks_.clock();
  std::vector<std::pair<std::string, bool>> changed;
  hooks_.devices.read([&](const DeviceStates::Devices& devices) {
    for (const auto& [id, device] : devices) {
      const bool online = hooks_.online(device, now);
      auto [it, added] = online_.try_emplace(id, online);
      if (!added && it->second == online) continue;
      it->second = online;
      changed.emplace_back(id, online);  // a device first seen too: clients learn of it
    }
  });
  for (const auto& [id, online] : changed) {
    broadcast("availability", nlohmann::json{{"device", id}, {"online", online}}.dump());
  }
  if (clients().empty()) return;
  send_site(hooks_.site_json(now));
}

asio::awaitable<void> LiveStream::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(limits_.tick);
    auto [ec] = co_await timer.async_wait(tuple_awaitable);
    if (ec) co_return;  // cancelled at shutdown
    tick();
  }
}

}  // namespace sunkeep::server
