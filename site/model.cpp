// The site model: sources and flows.
#include "site/model.hpp"

#include <algorithm>
#include <numeric>

namespace sunkeep::site {

namespace {

bool top_level(const DeviceState& device) { return !device.parent; }

bool reported_lately(const DeviceState& device, std::string_view metric, UtcMillis now) {
  const auto it = device.metrics.find(metric);
  return it != device.metrics.end() && now - it->second.arrived <= reported_window_ms;
}

// Top-level devices that have reported `metric` within the window, by id.
std::vector<std::string> reporting(const DeviceStates::Devices& devices, std::string_view metric, UtcMillis now) {
  std::vector<std::string> ids;
  for (const auto& [id, device] : devices) {
    if (top_level(device) && reported_lately(device, metric, now)) ids.push_back(id);
  }
  return ids;
}

std::string quoted_list(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "\"" : ", \"") + id + "\"";
  return out;
}

// A configured list as it stands, with a warning for each id no device has.
std::vector<std::string> configured(const std::vector<std::string>& ids, std::string_view key,
                                    const DeviceStates::Devices& devices, std::vector<std::string>& warnings) {
  for (const auto& id : ids) {
    if (!devices.contains(id)) {
      warnings.push_back("[site] " + std::string(key) + " names \"" + id +
                         "\", which no device has: it may not have connected yet");
    }
  }
  return ids;
}

std::vector<FlowPart> parts_of(const std::vector<std::string>& ids, std::string_view metric) {
  std::vector<FlowPart> parts;
  for (const auto& id : ids) parts.push_back({id, std::string(metric)});
  return parts;
}

}  // namespace

SiteSources resolve_sources(const SiteSettings& settings, const DeviceStates::Devices& devices, UtcMillis now) {
  SiteSources s;
  s.pv = settings.pv.empty() ? reporting(devices, "pv_power", now) : configured(settings.pv, "pv", devices, s.warnings);
  s.battery = settings.battery.empty() ? reporting(devices, "battery_power", now)
                                       : configured(settings.battery, "battery", devices, s.warnings);
  if (!settings.grid.empty()) {
    s.grid = configured(settings.grid, "grid", devices, s.warnings);
    return s;
  }
  auto candidates = reporting(devices, "grid_power", now);
  if (candidates.size() <= 1) {
    s.grid = std::move(candidates);
    return s;
  }
  s.grid_unknown = true;
  s.warnings.push_back("several devices meter the grid (" + quoted_list(candidates) +
                       "), so the site's grid flow is unknown: two meters on one connection are never summed. "
                       "Name the one at the grid connection in the config, e.g. [site] grid = [\"" +
                       candidates.front() + "\"]");
  return s;
}

std::vector<FlowRecipe> flow_recipes(const SiteSources& sources) {
  FlowRecipe pv{"pv_power", "W", false, !sources.pv.empty(), parts_of(sources.pv, "pv_power")};
  FlowRecipe grid{"grid_power", "W", false, !sources.grid_unknown && !sources.grid.empty(),
                  parts_of(sources.grid, "grid_power")};
  FlowRecipe battery{"battery_power", "W", false, !sources.battery.empty(), parts_of(sources.battery, "battery_power")};
  // The balance: a flow no device could give counts as 0; an unknown grid leaves it unknown.
  FlowRecipe load{"load_power", "W", false, false, {}};
  for (const FlowRecipe* flow : {&pv, &grid, &battery}) {
    load.parts.insert(load.parts.end(), flow->parts.begin(), flow->parts.end());
  }
  load.known = !sources.grid_unknown && !load.parts.empty();
  FlowRecipe soc{"battery_soc", "%", true, !sources.battery.empty(), parts_of(sources.battery, "battery_soc")};
  return {std::move(pv), std::move(grid), std::move(battery), std::move(load), std::move(soc)};
}

bool is_site_flow(std::string_view name) {
  return name == "pv_power" || name == "grid_power" || name == "battery_power" || name == "load_power" ||
         name == "battery_soc";
}

std::optional<double> combine(const FlowRecipe& recipe, const std::vector<std::optional<double>>& values) {
  if (!recipe.known || values.empty()) return std::nullopt;
  if (std::any_of(values.begin(), values.end(), [](const auto& v) { return !v; })) return std::nullopt;
  const double sum = std::accumulate(values.begin(), values.end(), 0.0, [](double a, const auto& v) { return a + *v; });
  return recipe.mean ? sum / static_cast<double>(values.size()) : sum;
}

SiteNow site_now(const SiteSources& sources, const DeviceStates::Devices& devices, UtcMillis now,
                 const std::function<bool(const DeviceState&)>& online) {
  SiteNow site;
  for (const auto& recipe : flow_recipes(sources)) {
    std::vector<std::optional<double>> values;
    for (const auto& part : recipe.parts) {
      std::optional<double> value;
      if (const auto device = devices.find(part.device); device != devices.end()) {
        const auto metric = device->second.metrics.find(part.metric);
        if (metric != device->second.metrics.end() && metric->second.fresh(now)) value = metric->second.value;
      }
      values.push_back(value);
    }
    site.flows.push_back({recipe.name, recipe.unit, combine(recipe, values)});
  }
  for (const auto& [id, device] : devices) {
    if (!top_level(device)) continue;
    ++site.devices;
    if (online(device)) ++site.devices_online;
  }
  return site;
}

}  // namespace sunkeep::site
