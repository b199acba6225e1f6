// The [sermatec] key table and its [[sermatec.inverter]] entries.
#include "config/vendor/tables.hpp"

namespace sunkeep::config {

namespace {

std::optional<std::string> read_inverter(const toml::table& table, SermatecInverter& inverter) {
  bool has_host = false;
  for (auto&& [key, node] : table) {
    if (key.str() == "host") {
      if (!node.is_string() || node.value<std::string>()->empty()) return "host must be a non-empty string";
      inverter.host = *node.value<std::string>();
      has_host = true;
    } else if (key.str() == "port") {
      if (!node.is_integer() || *node.value<std::int64_t>() < 1 || *node.value<std::int64_t>() > 65535) {
        return "port must be an integer from 1 to 65535";
      }
      inverter.port = static_cast<std::uint16_t>(*node.value<std::int64_t>());
    } else {
      return "unknown key \"" + std::string(key.str()) + "\" (known: host, port)";
    }
  }
  if (!has_host) return "host is required";
  return std::nullopt;
}

Reader inverters() {
  return [](const toml::node& n, Config& c) -> std::optional<std::string> {
    const toml::array* list = n.as_array();
    if (!list) return "must be an array of tables ([[sermatec.inverter]])";
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table* table = (*list)[i].as_table();
      if (!table) return "entry " + std::to_string(i + 1) + " must be a table";
      SermatecInverter inverter;
      if (auto error = read_inverter(*table, inverter)) {
        return "entry " + std::to_string(i + 1) + " (line " + std::to_string(line_of(*table)) + "): " + *error;
      }
      c.sermatec.inverters.push_back(inverter);
    }
    return std::nullopt;
  };
}

}  // namespace

SectionSpec sermatec_section() {
  using C = Config;
  SectionSpec spec{
      "sermatec",
      {{"enabled", boolean([](C& c) -> bool& { return c.sermatec.enabled; })},
       {"listen", listen_address([](C& c) -> Endpoint& { return c.sermatec.listen; })},
       {"poll_interval", duration([](C& c) -> milliseconds& { return c.sermatec.poll_interval; }, std::chrono::seconds(5))},
       {"query_drm", boolean([](C& c) -> bool& { return c.sermatec.query_drm; })},
       {"query_forced_charge", boolean([](C& c) -> bool& { return c.sermatec.query_forced_charge; })},
       {"query_network", boolean([](C& c) -> bool& { return c.sermatec.query_network; })}}};
  for (auto& key : connection_limit_keys([](C& c) -> ConnectionLimits& { return c.sermatec.limits; })) {
    spec.keys.push_back(std::move(key));
  }
  spec.keys.push_back({"inverter", inverters()});
  return spec;
}

}  // namespace sunkeep::config
