// The key table machinery of the config file: a section is a list of keys, each with a reader
// that checks one TOML value and stores it into the Config, or says what is wrong with it.
// Generic sections (config.cpp) and each vendor's section (config/vendor/) are tables of these.
#pragma once

#include "common/time_zone.hpp"
#include "config/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::config {

using Problems = std::vector<Problem>;

inline std::size_t line_of(const toml::node& node) { return node.source().begin.line; }

// Reads one key's value into the config, or explains what is wrong with it.
using Reader = std::function<std::optional<std::string>(const toml::node&, Config&)>;

struct KeySpec {
  std::string_view name;
  Reader read;
};

struct SectionSpec {
  std::string_view name;
  std::vector<KeySpec> keys;
  // Rules across the section's keys, checked once the whole file is read.
  std::function<void(const Config&, Problems&)> check = {};
};

template <class Get>
Reader boolean(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_boolean()) return "must be true or false";
    get(c) = *n.value<bool>();
    return std::nullopt;
  };
}

template <class Get>
Reader text(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a string";
    get(c) = *n.value<std::string>();
    return std::nullopt;
  };
}

template <class Get>
Reader non_empty_text(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string() || n.value<std::string>()->empty()) return "must be a non-empty string";
    get(c) = *n.value<std::string>();
    return std::nullopt;
  };
}

template <class Get>
Reader duration(Get get, milliseconds minimum = milliseconds(1), milliseconds maximum = milliseconds::max()) {
  return [get, minimum, maximum](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a duration string such as \"30s\", \"5m\", \"2h\" or \"7d\"";
    const auto d = parse_duration(*n.value<std::string>());
    if (!d || d->count() <= 0) return "\"" + *n.value<std::string>() + "\" is not a duration (use e.g. \"30s\", \"5m\", \"2h\", \"7d\")";
    if (*d < minimum) {
      return "must be at least " + (minimum.count() % 1000 == 0 ? std::to_string(minimum.count() / 1000) + "s"
                                                                 : std::to_string(minimum.count()) + "ms");
    }
    if (*d > maximum) return "must be at most " + std::to_string(maximum.count() / 1000) + "s";
    get(c) = *d;
    return std::nullopt;
  };
}

template <class Get>
Reader listen_address(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a \"host:port\" string";
    const auto endpoint = parse_endpoint(*n.value<std::string>());
    if (!endpoint) return "\"" + *n.value<std::string>() + "\": " + endpoint.error();
    boost::system::error_code ec;
    boost::asio::ip::make_address(endpoint->host, ec);
    if (ec) return "\"" + endpoint->host + "\" is not an IP address to listen on";
    get(c) = *endpoint;
    return std::nullopt;
  };
}

template <class Get>
Reader integer(Get get, std::int64_t min, std::int64_t max) {
  return [get, min, max](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_integer()) return "must be an integer";
    const std::int64_t v = *n.value<std::int64_t>();
    if (v < min || v > max) return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    get(c) = static_cast<std::remove_reference_t<decltype(get(c))>>(v);
    return std::nullopt;
  };
}

template <class Get>
Reader time_zone(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be an IANA time zone name such as \"Australia/Sydney\"";
    const std::string name = *n.value<std::string>();
    try {
      TimeZone zone(name);
    } catch (const std::exception&) {
      return "\"" + name + "\" is not a known IANA time zone";
    }
    get(c) = name;
    return std::nullopt;
  };
}

// An array of tables ([[<section>.<name>]]): each entry is appended with `add` and its keys
// are read like a section's into that new entry (each KeySpec's reader finds it as the list's
// back()); keys in `required` must be present. Errors name the entry, its line and the key.
inline Reader table_list(std::string_view list_name, std::function<void(Config&)> add, std::vector<KeySpec> keys,
                         std::vector<std::string_view> required) {
  return [=](const toml::node& n, Config& c) -> std::optional<std::string> {
    const toml::array* list = n.as_array();
    if (!list) return "must be an array of tables ([[" + std::string(list_name) + "]])";
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string entry = "entry " + std::to_string(i + 1);
      const toml::table* table = (*list)[i].as_table();
      if (!table) return entry + " must be a table";
      add(c);
      const std::string where = entry + " (line " + std::to_string(line_of(*table)) + "): ";
      std::string known;
      for (const auto& key : keys) known += (known.empty() ? "" : ", ") + std::string(key.name);
      for (auto&& [name, node] : *table) {
        const std::string_view key_name = name.str();
        const auto it = std::find_if(keys.begin(), keys.end(), [key_name](const KeySpec& k) { return k.name == key_name; });
        if (it == keys.end()) return where + "unknown key \"" + std::string(key_name) + "\" (known: " + known + ")";
        if (auto error = it->read(node, c)) {
          return entry + " (line " + std::to_string(line_of(node)) + "): " + std::string(key_name) + " " + *error;
        }
      }
      for (const auto name : required) {
        if (!table->contains(name)) return where + std::string(name) + " is required";
      }
    }
    return std::nullopt;
  };
}

// A string the rule `problem` accepts ("" = fine).
template <class Get>
Reader checked_text(Get get, std::string (*problem)(std::string_view)) {
  return [get, problem](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a string";
    const std::string value = *n.value<std::string>();
    if (auto why = problem(value); !why.empty()) return why;
    get(c) = value;
    return std::nullopt;
  };
}

// The two caps of a device listener (interfaces.md §2).
template <class Get>
std::vector<KeySpec> connection_limit_keys(Get get) {
  return {{"max_connections", integer([get](Config& c) -> std::uint32_t& { return get(c).max_connections; }, 1, 1'000'000)},
          {"max_connections_per_host",
           integer([get](Config& c) -> std::uint32_t& { return get(c).max_connections_per_host; }, 1, 1'000'000)}};
}

}  // namespace sunkeep::config
