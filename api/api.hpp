// The HTTP API v1 (interfaces.md §3) as a function from a request to a response over the stored
// history. No sockets: the HTTP transport calls handle() on a query thread with a read-only
// connection. Nothing a client sends can make it throw; errors are JSON {"error","detail"}.
#pragma once

#include "common/civil_time.hpp"
#include "storage/history.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sunkeep::api {

struct Request {
  std::string method;         // "GET", "HEAD", …
  std::string target;         // path and query as sent
  std::string authorization;  // the Authorization header, "" if none
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Whether a device has a connection open now (answered by the device listeners).
class LiveStatus {
 public:
  virtual ~LiveStatus() = default;
  [[nodiscard]] virtual bool connected(const std::string& vendor, const std::string& serial) const = 0;
};

struct Settings {
  std::string token;                  // "" = no token required
  std::int64_t max_points = 100'000;
  bool expose_personal_data = false;
  std::string version;
  UtcMillis started = 0;              // for uptime_s
  // How often each vendor's devices normally send (a device is online if data arrived within
  // 3 × this); vendors not listed count as 60 s.
  std::map<std::string, std::int64_t, std::less<>> expected_interval_ms;
};

class Api {
 public:
  Api(Settings settings, const LiveStatus& live) : settings_(std::move(settings)), live_(live) {}

  [[nodiscard]] Response handle(const Request& request, storage::HistoryReader& history, UtcMillis now) const;

 private:
  Settings settings_;
  const LiveStatus& live_;
};

}  // namespace sunkeep::api
