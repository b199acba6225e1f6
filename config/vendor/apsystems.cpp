// The [apsystems] key table and its [[apsystems.ecu]] entries, with the limits of §11.1.
#include "config/vendor/apsystems.hpp"

#include "config/vendor/tables.hpp"

#include <algorithm>

namespace sunkeep::config {

namespace {

ApsystemsEcu& last_ecu(Config& c) { return c.apsystems.ecus.back(); }

// "" or 12 digits.
Reader ecu_id() {
  return [](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a string of 12 digits, or \"\" to learn it from the ECU";
    const std::string value = *n.value<std::string>();
    const bool digits = std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!value.empty() && (value.size() != 12 || !digits)) return "\"" + value + "\" is not 12 digits";
    last_ecu(c).ecu_id = value;
    return std::nullopt;
  };
}

// The host, and the line it is on.
Reader ecu_host() {
  const Reader text = non_empty_text([](Config& c) -> std::string& { return last_ecu(c).host; });
  return [text](const toml::node& n, Config& c) -> std::optional<std::string> {
    last_ecu(c).line = line_of(n);
    return text(n, c);
  };
}

Reader ecus() {
  return table_list(
      "apsystems.ecu", [](Config& c) { c.apsystems.ecus.emplace_back(); },
      {{"host", ecu_host()},
       {"port", integer([](Config& c) -> std::uint16_t& { return last_ecu(c).port; }, 1, 65535)},
       {"ecu_id", ecu_id()}},
      {"host"});
}

// Two entries for one ECU would poll it from two tasks, i.e. open two connections to it at once.
void refuse_duplicate_ecus(const Config& c, Problems& problems) {
  const auto& ecus = c.apsystems.ecus;
  for (std::size_t i = 0; i < ecus.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const bool same_address = ecus[i].host == ecus[j].host && ecus[i].port == ecus[j].port;
      const bool same_id = !ecus[i].ecu_id.empty() && ecus[i].ecu_id == ecus[j].ecu_id;
      if (!same_address && !same_id) continue;
      problems.push_back({"apsystems.ecu", ecus[i].line,
                          "entry " + std::to_string(i + 1) + " names the same ECU as entry " + std::to_string(j + 1) +
                              (same_address ? " (" + ecus[i].host + ":" + std::to_string(ecus[i].port) + ")"
                                            : " (ecu_id " + ecus[i].ecu_id + ")") +
                              ": one ECU takes one connection at a time, so list it once"});
      break;
    }
  }
}

}  // namespace

SectionSpec apsystems_section() {
  using C = Config;
  using std::chrono::seconds;
  return SectionSpec{
      "apsystems",
      {{"enabled", boolean([](C& c) -> bool& { return c.apsystems.enabled; })},
       {"poll_interval", duration([](C& c) -> milliseconds& { return c.apsystems.poll_interval; }, seconds(30))},
       {"command_pause", duration([](C& c) -> milliseconds& { return c.apsystems.command_pause; }, seconds(1), seconds(60))},
       {"connect_timeout", duration([](C& c) -> milliseconds& { return c.apsystems.connect_timeout; }, milliseconds(100))},
       {"read_timeout", duration([](C& c) -> milliseconds& { return c.apsystems.read_timeout; }, milliseconds(100))},
       {"retries", integer([](C& c) -> std::uint32_t& { return c.apsystems.retries; }, 0, 2)},
       {"ecu", ecus()}},
      refuse_duplicate_ecus};
}

}  // namespace sunkeep::config
