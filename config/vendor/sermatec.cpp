// The [sermatec] key table and its [[sermatec.inverter]] entries.
#include "config/vendor/tables.hpp"

namespace sunkeep::config {

namespace {

SermatecInverter& last_inverter(Config& c) { return c.sermatec.inverters.back(); }

Reader inverters() {
  return table_list(
      "sermatec.inverter", [](Config& c) { c.sermatec.inverters.emplace_back(); },
      {{"host", non_empty_text([](Config& c) -> std::string& { return last_inverter(c).host; })},
       {"port", integer([](Config& c) -> std::uint16_t& { return last_inverter(c).port; }, 1, 65535)}},
      {"host"});
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
