// `sunkeep health`: asks a running server for GET /api/v1/health on its HTTP listener, for a
// container's health check (the image has no curl) or a script. A listener on 0.0.0.0 or :: is
// asked on loopback.
#pragma once

#include "config/values.hpp"

#include <chrono>
#include <string>

namespace sunkeep::admin {

struct HealthAnswer {
  bool healthy = false;  // HTTP 200 with "status":"ok" and storage "ok"
  std::string detail;    // the answer's body, or why there is none
};

HealthAnswer probe_health(const config::Endpoint& http_listen, std::chrono::milliseconds timeout);

}  // namespace sunkeep::admin
