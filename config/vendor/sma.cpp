// The [sma] key table and its [[sma.inverter]] entries. Errors name the key, never a password.
#include "config/vendor/sma.hpp"

#include "config/vendor/tables.hpp"

#include <boost/asio/ip/address_v4.hpp>

#include <algorithm>

namespace sunkeep::config {

bool sma_password_fits(const std::string& password) {
  return password.size() <= 12 &&
         std::all_of(password.begin(), password.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}

namespace {

SmaInverter& last_inverter(Config& c) { return c.sma.inverters.back(); }

template <class Get>
Reader user_group(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    const auto value = n.value<std::string>();
    if (!n.is_string() || (*value != "user" && *value != "installer")) return "must be \"user\" or \"installer\"";
    get(c) = *value == "user" ? SmaUserGroup::user : SmaUserGroup::installer;
    return std::nullopt;
  };
}

// The value never appears in the error.
template <class Get>
Reader password(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a string";
    if (!sma_password_fits(*n.value<std::string>())) return "must be at most 12 ASCII characters";
    get(c) = *n.value<std::string>();
    return std::nullopt;
  };
}

Reader ipv4_or_empty(std::string SmaConfig::*member) {
  return [member](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a local IPv4 address or \"\"";
    const std::string value = *n.value<std::string>();
    boost::system::error_code ec;
    if (!value.empty()) boost::asio::ip::make_address_v4(value, ec);
    if (ec) return "\"" + value + "\" is not an IPv4 address";
    c.sma.*member = value;
    return std::nullopt;
  };
}

Reader inverters() {
  return table_list(
      "sma.inverter", [](Config& c) { c.sma.inverters.emplace_back(); },
      {{"host", non_empty_text([](Config& c) -> std::string& { return last_inverter(c).host; })},
       {"port", integer([](Config& c) -> std::uint16_t& { return last_inverter(c).port; }, 1, 65535)},
       {"user_group", user_group([](Config& c) -> std::optional<SmaUserGroup>& { return last_inverter(c).user_group; })},
       {"password", password([](Config& c) -> std::optional<std::string>& { return last_inverter(c).password; })}},
      {"host"});
}

}  // namespace

SectionSpec sma_section() {
  using C = Config;
  return SectionSpec{
      "sma",
      {{"enabled", boolean([](C& c) -> bool& { return c.sma.enabled; })},
       {"poll_interval", duration([](C& c) -> milliseconds& { return c.sma.poll_interval; }, std::chrono::seconds(5))},
       {"timeout", duration([](C& c) -> milliseconds& { return c.sma.timeout; }, milliseconds(100))},
       {"retries", integer([](C& c) -> std::uint32_t& { return c.sma.retries; }, 0, 10)},
       {"discovery", boolean([](C& c) -> bool& { return c.sma.discovery; })},
       {"user_group", user_group([](C& c) -> SmaUserGroup& { return c.sma.user_group; })},
       {"password", password([](C& c) -> std::string& { return c.sma.password; })},
       {"energy_meter", boolean([](C& c) -> bool& { return c.sma.energy_meter; })},
       {"energy_meter_interval", duration([](C& c) -> milliseconds& { return c.sma.energy_meter_interval; })},
       {"interface", ipv4_or_empty(&SmaConfig::interface)},
       {"energy_meter_listen", listen_address([](C& c) -> Endpoint& { return c.sma.energy_meter_listen; })},
       {"inverter", inverters()}}};
}

}  // namespace sunkeep::config
