// The site model of dashboard.md §1, pure: which devices make the home's PV, grid connection and
// battery, and the site's flows now, from the devices as the latest-values sink holds them. No
// storage, no clock: `now` is passed in.
#pragma once

#include "common/device_state.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::site {

// [site] with its zone resolved (config::SiteConfig with "" replaced by the server's zone).
struct SiteSettings {
  std::string name = "Home";
  std::string timezone = "UTC";
  std::vector<std::string> pv;  // [] = chosen from what has reported
  std::vector<std::string> grid;
  std::vector<std::string> battery;
};

// How far back "has reported" looks when sources are chosen by default.
inline constexpr std::int64_t reported_window_ms = 7LL * 24 * 3600 * 1000;

struct SiteSources {
  std::vector<std::string> pv;
  std::vector<std::string> grid;
  std::vector<std::string> battery;
  // Several top-level devices meter the grid and [site] grid names none: never summed.
  bool grid_unknown = false;
  std::vector<std::string> warnings;
};

SiteSources resolve_sources(const SiteSettings& settings, const DeviceStates::Devices& devices, UtcMillis now);

// One device metric a site flow is made of.
struct FlowPart {
  std::string device;  // "<vendor>:<serial>"
  std::string metric;
};

// A site flow and how it is made: the sum of its parts (their mean for battery_soc). Not `known`
// when no device could give it or the grid is unknown.
struct FlowRecipe {
  std::string_view name;
  std::string_view unit;
  bool mean = false;
  bool known = false;
  std::vector<FlowPart> parts;
};

// The site flows in their fixed order: pv_power, grid_power, battery_power, load_power, battery_soc.
std::vector<FlowRecipe> flow_recipes(const SiteSources& sources);
// Whether `name` is one of the site flows.
bool is_site_flow(std::string_view name);

// Combines the parts' values; nullopt when any part has none (never a partial sum).
std::optional<double> combine(const FlowRecipe& recipe, const std::vector<std::optional<double>>& values);

struct SiteFlowValue {
  std::string_view name;
  std::string_view unit;
  std::optional<double> value;
};

struct SiteNow {
  std::vector<SiteFlowValue> flows;  // every flow, in the order of flow_recipes()
  int devices = 0;                   // top-level devices
  int devices_online = 0;            // of them, online now
};

// The site now from each part's newest fresh value (interfaces.md §4).
SiteNow site_now(const SiteSources& sources, const DeviceStates::Devices& devices, UtcMillis now,
                 const std::function<bool(const DeviceState&)>& online);

}  // namespace sunkeep::site
