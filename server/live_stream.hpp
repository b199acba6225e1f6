// The live stream of dashboard.md §2 (/api/v1/live, Server-Sent Events): `device` events with a
// device's latest values as each commit changes them, `availability` events when a device goes
// online or offline, and `site` events (the /site/latest object) at most once a second when it
// changes, a value turning null included. It follows LatestValues like MQTT does, so it sees only
// committed, guarded values. Each client has a bounded queue of rendered text; a client that
// falls that far behind is dropped, so a slow client never slows another or the devices.
#pragma once

#include "common/device_state.hpp"
#include "common/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::server {

struct LiveLimits {
  std::size_t max_clients = 64;                 // [http] max_live_clients
  std::size_t queue_bytes = 256 * 1024;         // text waiting for one client; beyond it, dropped
  std::chrono::milliseconds keepalive{15'000};  // a comment after this long without an event
  std::chrono::milliseconds tick{1'000};        // site and availability are looked at this often
};

// One open stream: what waits to be written to it. Thread-safe; the waiting side runs on the
// connection's strand, the filling side anywhere.
class LiveClient : public std::enable_shared_from_this<LiveClient> {
 public:
  LiveClient(boost::asio::any_io_executor strand, std::size_t queue_bytes);

  // The text queued so far, waiting up to `keepalive` for some: "" when none came in time,
  // nullopt when the client was dropped or its task cancelled.
  boost::asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds keepalive);
  // On the strand: what cancels the stream's pending write when the client is dropped ({} to
  // forget it before the stream goes).
  void set_cancel_write(std::function<void()> cancel_write);

  enum class Pushed { queued, unchanged, dropped_now, dropped_before };
  // Adds an event; dropped_now (and the client dropped) when it would overflow the queue.
  Pushed push(const std::string& text);
  // Adds a site event unless the last one this client got had the same `content`.
  Pushed push_site(const std::string& content, const std::string& text);
  [[nodiscard]] bool dropped() const;

 private:
  void wake();

  boost::asio::any_io_executor strand_;
  boost::asio::steady_timer timer_;
  const std::size_t queue_bytes_;
  mutable std::mutex mutex_;
  std::string queued_;
  std::string site_content_;  // of the last site event queued
  bool dropped_ = false;
  std::function<void()> cancel_write_;  // touched on the strand only
};

class LiveStream final : public LatestValuesSubscriber {
 public:
  struct Hooks {
    const DeviceStates& devices;
    std::function<bool(const DeviceState&, UtcMillis now)> online;
    std::function<std::string(UtcMillis now)> site_json;  // the /site/latest object
    std::function<UtcMillis()> clock;
  };

  LiveStream(LiveLimits limits, Hooks hooks, metrics::Registry& metrics);

  // A new client, already holding the site event; nullptr when max_clients streams are open.
  std::shared_ptr<LiveClient> join(const boost::asio::any_io_executor& strand);
  void leave(const std::shared_ptr<LiveClient>& client);
  [[nodiscard]] const LiveLimits& limits() const { return limits_; }

  // On the latest-values thread: renders the device events for the clients, and returns.
  void updated(std::vector<DeviceUpdate> updates) override;
  // Looks at the site and the devices' availability every tick until cancelled.
  boost::asio::awaitable<void> run();
  // One tick of run(): the site event when the site changed, availability events (for tests).
  void tick();

 private:
  // Formats and sends one event to every client, dropping those it would overflow.
  void broadcast(const std::string& event, const std::string& data);
  // Counts what one push did.
  void count(LiveClient::Pushed pushed);
  // The site event to every client whose last one differs.
  void send_site(const std::string& data);
  [[nodiscard]] std::vector<std::shared_ptr<LiveClient>> clients();

  LiveLimits limits_;
  Hooks hooks_;
  metrics::Counter& events_;
  metrics::Counter& dropped_;
  metrics::Counter& refused_;
  std::mutex clients_mutex_;
  std::vector<std::shared_ptr<LiveClient>> clients_;
  // Touched by tick() only (one ticker).
  std::map<std::string, bool, std::less<>> online_;
};

// "event: <name>\ndata: <data>\n\n": one Server-Sent Event (data holds no newline).
std::string sse_event(const std::string& name, const std::string& data);
// The /devices/{id}/latest object of a device as the latest values hold it.
std::string device_latest_json(const DeviceState& device);

}  // namespace sunkeep::server
