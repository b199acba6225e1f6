// Reading the [site] section.
#include "config/site.hpp"

#include "config/readers.hpp"

#include <algorithm>

namespace sunkeep::config {

namespace {

using C = Config;

Reader site_time_zone() {
  return [](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (n.is_string() && n.value<std::string>()->empty()) {
      c.site.timezone.clear();
      return std::nullopt;
    }
    return time_zone([](Config& config) -> std::string& { return config.site.timezone; })(n, c);
  };
}

// A list of device ids, each "<vendor>:<serial>", none twice.
template <class Get>
Reader device_ids(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    const toml::array* list = n.as_array();
    if (list == nullptr) return "must be a list of device ids such as [\"<vendor>:<serial>\"]";
    std::vector<std::string> ids;
    for (const auto& item : *list) {
      if (!item.is_string()) return "must hold only strings (device ids \"<vendor>:<serial>\")";
      std::string id = *item.value<std::string>();
      if (!is_device_id(id)) return "\"" + id + "\" is not a device id (<vendor>:<serial>)";
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) return "names \"" + id + "\" twice";
      ids.push_back(std::move(id));
    }
    get(c) = std::move(ids);
    return std::nullopt;
  };
}

}  // namespace

bool is_device_id(const std::string& id) {
  const std::size_t colon = id.find(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < id.size();
}

SectionSpec site_section() {
  using Ids = std::vector<std::string>;
  return SectionSpec{"site",
                     {{"name", non_empty_text([](C& c) -> std::string& { return c.site.name; })},
                      {"timezone", site_time_zone()},
                      {"pv", device_ids([](C& c) -> Ids& { return c.site.pv; })},
                      {"grid", device_ids([](C& c) -> Ids& { return c.site.grid; })},
                      {"battery", device_ids([](C& c) -> Ids& { return c.site.battery; })}}};
}

}  // namespace sunkeep::config
