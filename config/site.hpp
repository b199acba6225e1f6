// The [site] section (dashboard.md §1): the home's name, the zone of its days and months, and
// which devices make its PV, grid connection and battery ([] = chosen from what has reported).
#pragma once

#include <string>
#include <vector>

namespace sunkeep::config {

struct SiteConfig {
  std::string name = "Home";
  std::string timezone;              // IANA name; "" = the server's local zone
  std::vector<std::string> pv;       // device ids "<vendor>:<serial>"
  std::vector<std::string> grid;
  std::vector<std::string> battery;
};

// Whether `id` has the form "<vendor>:<serial>" with both parts non-empty.
bool is_device_id(const std::string& id);

}  // namespace sunkeep::config
