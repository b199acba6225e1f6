// The listeners and cloud names of each vendor (see endpoints.hpp).
#include "config/vendor/endpoints.hpp"

namespace sunkeep::config {

std::vector<ListenAddress> listen_addresses(const Config& config) {
  std::vector<ListenAddress> listeners{{"http.listen", config.http.listen}};
  if (config.alphaess.enabled) listeners.push_back({"alphaess.listen", config.alphaess.listen});
  if (config.sermatec.enabled) listeners.push_back({"sermatec.listen", config.sermatec.listen});
  if (config.sma.enabled && config.sma.energy_meter) {
    listeners.push_back({"sma.energy_meter_listen", config.sma.energy_meter_listen, true});
  }
  return listeners;
}

// A Sermatec inverter dials a fixed IP (no name to check); SMA and APsystems are polled.
std::vector<CloudName> cloud_names(const Config& config) {
  if (!config.alphaess.enabled) return {};
  return {{"alphaess", "www.alphaess.com"}, {"alphaess", "cloud.alphaess.com"}};
}

}  // namespace sunkeep::config
