// Where a config makes sunkeep meet devices, for `sunkeep doctor`: the sockets the server binds
// (by the key that sets each) and the cloud host names devices look up, which a DNS override
// must point at sunkeep. A vendor with a listener or a cloud name adds it in endpoints.cpp.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace sunkeep::config {

struct ListenAddress {
  std::string key;  // e.g. "alphaess.listen"
  Endpoint endpoint;
  bool udp = false;
};

// HTTP's and those of the enabled vendors.
std::vector<ListenAddress> listen_addresses(const Config& config);

struct CloudName {
  std::string vendor;  // as in device ids
  std::string host;
};

// The cloud names the enabled vendors' devices resolve to reach their cloud.
std::vector<CloudName> cloud_names(const Config& config);

}  // namespace sunkeep::config
