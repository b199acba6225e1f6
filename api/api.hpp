// The HTTP API v1 (interfaces.md §3) as a function from a request to a response over the stored
// history. No sockets: the HTTP transport first asks answer_from_memory() on the connection's own
// thread (health, and refusals that need no database), then handle() on a query thread with a
// read-only connection. Nothing a client sends can make it throw; errors are JSON {"error","detail"}.
#pragma once

#include "common/civil_time.hpp"
#include "common/device_state.hpp"
#include "api/static_files.hpp"
#include "common/local_calendar.hpp"
#include "site/model.hpp"
#include "storage/history.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sunkeep::api {

struct Request {
  std::string method;         // "GET", "HEAD", …
  std::string target;         // path and query as sent
  std::string authorization;  // the Authorization header, "" if none
  std::string if_none_match;  // for the dashboard's files
  std::string accept_encoding;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The request is for the live stream (/api/v1/live), allowed: the transport streams events
  // instead of writing this answer.
  bool live_stream = false;
};

// Whether data stored at `last_seen` is recent at `now` for a device that reports every
// `expected_interval_ms` (interfaces.md §3 `online`: within 3 × the interval).
inline bool seen_within(UtcMillis last_seen, UtcMillis now, std::int64_t expected_interval_ms) {
  return now - last_seen <= 3 * expected_interval_ms;
}

// What the device drivers know of their devices (answered by the server from its drivers).
class LiveStatus {
 public:
  virtual ~LiveStatus() = default;
  // Whether a device has a connection open now.
  [[nodiscard]] virtual bool connected(const std::string& vendor, const std::string& serial) const = 0;
  // How often a vendor's devices normally report; 60 s for a vendor no driver knows.
  [[nodiscard]] virtual std::int64_t expected_interval_ms(const std::string& /*vendor*/) const { return 60'000; }
  // A stored frame as the API may show it (the vendor's driver hides what must not be shown).
  [[nodiscard]] virtual std::vector<std::uint8_t> display_frame(const std::string& /*vendor*/,
                                                                std::span<const std::uint8_t> raw,
                                                                bool /*show_personal*/) const {
    return {raw.begin(), raw.end()};
  }
  // interfaces.md §3 `online`: by default a connection open now, or data within 3 × the expected
  // interval; the server asks the vendor's driver.
  [[nodiscard]] virtual bool online(const std::string& vendor, const std::string& serial, UtcMillis last_seen,
                                    UtcMillis now) const {
    return seen_within(last_seen, now, expected_interval_ms(vendor)) || connected(vendor, serial);
  }
};

// The Prometheus page of /metrics (interfaces.md §3.1), built from memory.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  [[nodiscard]] virtual std::string metrics_text(UtcMillis now) const = 0;
};

// What health reports beside the version and uptime; answered from memory, never a query.
class HealthStatus {
 public:
  virtual ~HealthStatus() = default;
  // "ok", or "failing: <reason>" while the database cannot be written.
  [[nodiscard]] virtual std::string storage_status() const = 0;
  // Connections refused per peer and reason, newest first.
  [[nodiscard]] virtual std::vector<storage::RejectionItem> rejections() const = 0;
  // "connected", "disconnected", or "disabled" when [mqtt] is off (mqtt.md §5).
  [[nodiscard]] virtual std::string mqtt_status() const { return "disabled"; }
};

// Storage "ok" and no rejections: for API callers without a server (fuzzers, benchmarks).
const HealthStatus& no_health_status();

struct Settings {
  std::string token;                  // "" = no token required
  std::string metrics_token;          // also accepted on /metrics ("" = none)
  std::int64_t max_points = 100'000;
  bool expose_personal_data = false;
  std::string version;
  UtcMillis started = 0;              // for uptime_s
  site::SiteSettings site;            // its timezone an IANA name ("" resolved before)
  std::span<const StaticFile> files;  // the dashboard, served outside /api
};

class Api {
 public:
  // `devices`: the latest values the site is computed from (none: a site with no devices).
  // Throws std::runtime_error when the site's timezone is not a known zone.
  Api(Settings settings, const LiveStatus& live, const HealthStatus& health = no_health_status(),
      const MetricsSource* metrics = nullptr, const DeviceStates* devices = nullptr);

  // The answer when it needs no database: health, /metrics, and what is refused from the request
  // alone (401 before any parameter is read, 400 for a bad path or query escape, 404 outside
  // /api/v1, 405). nullopt: the request needs handle().
  [[nodiscard]] std::optional<Response> answer_from_memory(const Request& request, UtcMillis now) const;
  // Every request (the checks of answer_from_memory() included).
  [[nodiscard]] Response handle(const Request& request, storage::HistoryReader& history, UtcMillis now) const;

  // The JSON of /api/v1/site/latest at `now`, from memory (also what the live stream sends).
  [[nodiscard]] std::string site_latest_json(UtcMillis now) const;

 private:
  Settings settings_;
  const LiveStatus& live_;
  const HealthStatus& health_;
  const MetricsSource* metrics_;  // none: /metrics is 404
  const DeviceStates* devices_;
  LocalCalendar site_calendar_;
};

}  // namespace sunkeep::api
