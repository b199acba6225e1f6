// Reading and validating the TOML config file against the key table of interfaces.md §2.
#include "config/config.hpp"

#include "common/time_zone.hpp"

#include <boost/asio/ip/address.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

namespace sunkeep::config {

namespace {

using Problems = std::vector<Problem>;

std::size_t line_of(const toml::node& node) { return node.source().begin.line; }

// Reads one key's value into the config, or explains what is wrong with it.
using Reader = std::function<std::optional<std::string>(const toml::node&, Config&)>;

struct KeySpec {
  std::string_view name;
  Reader read;
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
Reader duration(Get get, milliseconds minimum = milliseconds(1)) {
  return [get, minimum](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a duration string such as \"30s\", \"5m\", \"2h\" or \"7d\"";
    const auto d = parse_duration(*n.value<std::string>());
    if (!d || d->count() <= 0) return "\"" + *n.value<std::string>() + "\" is not a duration (use e.g. \"30s\", \"5m\", \"2h\", \"7d\")";
    if (*d < minimum) return "must be at least " + std::to_string(minimum.count() / 1000) + "s";
    get(c) = *d;
    return std::nullopt;
  };
}

template <class Get>
Reader listen_address(Get get) {
  return [get](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be a \"host:port\" string";
    std::string error;
    const auto endpoint = parse_endpoint(*n.value<std::string>(), error);
    if (!endpoint) return "\"" + *n.value<std::string>() + "\": " + error;
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

Reader time_zone() {
  return [](const toml::node& n, Config& c) -> std::optional<std::string> {
    if (!n.is_string()) return "must be an IANA time zone name such as \"Australia/Sydney\"";
    const std::string name = *n.value<std::string>();
    try {
      TimeZone zone(name);
    } catch (const std::exception&) {
      return "\"" + name + "\" is not a known IANA time zone";
    }
    c.alphaess.timezone = name;
    return std::nullopt;
  };
}

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

struct SectionSpec {
  std::string_view name;
  std::vector<KeySpec> keys;
};

const std::vector<SectionSpec>& sections() {
  static const std::vector<SectionSpec> specs{
      {"storage", {{"path", text([](Config& c) -> std::string& { return c.storage.path; })}}},
      {"http",
       {{"listen", listen_address([](Config& c) -> Endpoint& { return c.http.listen; })},
        {"token", text([](Config& c) -> std::string& { return c.http.token; })},
        {"max_points", integer([](Config& c) -> std::uint32_t& { return c.http.max_points; }, 1, 10'000'000)},
        {"expose_personal_data", boolean([](Config& c) -> bool& { return c.http.expose_personal_data; })},
        {"max_connections", integer([](Config& c) -> std::uint32_t& { return c.http.max_connections; }, 1, 1'000'000)},
        {"max_buffered_mb", integer([](Config& c) -> std::uint32_t& { return c.http.max_buffered_mb; }, 1, 1'000'000)}}},
      {"alphaess",
       {{"enabled", boolean([](Config& c) -> bool& { return c.alphaess.enabled; })},
        {"listen", listen_address([](Config& c) -> Endpoint& { return c.alphaess.listen; })},
        {"timezone", time_zone()},
        {"backfill", boolean([](Config& c) -> bool& { return c.alphaess.backfill; })},
        {"backfill_min_gap", duration([](Config& c) -> milliseconds& { return c.alphaess.backfill_min_gap; })},
        {"backfill_max_age", duration([](Config& c) -> milliseconds& { return c.alphaess.backfill_max_age; })},
        {"idle_timeout", duration([](Config& c) -> milliseconds& { return c.alphaess.idle_timeout; })},
        {"max_frame", integer([](Config& c) -> std::uint32_t& { return c.alphaess.max_frame; }, 1, 16 * 1024 * 1024)},
        {"max_connections", integer([](Config& c) -> std::uint32_t& { return c.alphaess.limits.max_connections; }, 1, 1'000'000)},
        {"max_connections_per_host", integer([](Config& c) -> std::uint32_t& { return c.alphaess.limits.max_connections_per_host; }, 1, 1'000'000)}}},
      {"sermatec",
       {{"enabled", boolean([](Config& c) -> bool& { return c.sermatec.enabled; })},
        {"listen", listen_address([](Config& c) -> Endpoint& { return c.sermatec.listen; })},
        {"poll_interval", duration([](Config& c) -> milliseconds& { return c.sermatec.poll_interval; }, std::chrono::seconds(5))},
        {"query_drm", boolean([](Config& c) -> bool& { return c.sermatec.query_drm; })},
        {"query_forced_charge", boolean([](Config& c) -> bool& { return c.sermatec.query_forced_charge; })},
        {"query_network", boolean([](Config& c) -> bool& { return c.sermatec.query_network; })},
        {"max_connections", integer([](Config& c) -> std::uint32_t& { return c.sermatec.limits.max_connections; }, 1, 1'000'000)},
        {"max_connections_per_host", integer([](Config& c) -> std::uint32_t& { return c.sermatec.limits.max_connections_per_host; }, 1, 1'000'000)},
        {"inverter", inverters()}}},
  };
  return specs;
}

// "a, b, c" from the `name` of each spec (KeySpec or SectionSpec).
template <class Specs>
std::string known_names(const Specs& specs) {
  std::string out;
  for (const auto& spec : specs) out += (out.empty() ? "" : ", ") + std::string(spec.name);
  return out;
}

void read_section(const SectionSpec& spec, const toml::table& table, Config& config, Problems& problems) {
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();  // a plain copy: clang 14 cannot capture bindings
    const std::string dotted = std::string(spec.name) + "." + std::string(name);
    const auto it = std::find_if(spec.keys.begin(), spec.keys.end(), [name](const KeySpec& k) { return k.name == name; });
    if (it == spec.keys.end()) {
      problems.push_back({dotted, key.source().begin.line, "unknown key (known in [" + std::string(spec.name) + "]: " + known_names(spec.keys) + ")"});
      continue;
    }
    if (auto error = it->read(node, config)) problems.push_back({dotted, line_of(node), *error});
  }
}

void read_document(const toml::table& root, Config& config, Problems& problems) {
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();  // a plain copy: clang 14 cannot capture bindings
    const auto it = std::find_if(sections().begin(), sections().end(), [name](const SectionSpec& s) { return s.name == name; });
    if (it == sections().end()) {
      problems.push_back({std::string(key.str()), key.source().begin.line, "unknown section or key (known sections: " + known_names(sections()) + ")"});
      continue;
    }
    const toml::table* table = node.as_table();
    if (!table) {
      problems.push_back({std::string(key.str()), line_of(node), "must be a section ([" + std::string(key.str()) + "])"});
      continue;
    }
    read_section(*it, *table, config, problems);
  }
  if (config.alphaess.backfill_min_gap >= config.alphaess.backfill_max_age) {
    problems.push_back({"alphaess.backfill_min_gap", 0, "must be shorter than alphaess.backfill_max_age"});
  }
}

}  // namespace

std::string Problem::to_string(const std::string& source) const {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

LoadResult parse_config(std::string_view toml_text, const std::string& source_name) {
  LoadResult result;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    result.problems.push_back({"", e.source().begin.line, "TOML syntax error: " + std::string(e.description())});
    return result;
  }
  read_document(root, result.config, result.problems);
  // toml++ walks tables in key order; report in file order.
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  return result;
}

LoadResult load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.problems.push_back({"", 0, "cannot open config file"});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.string());
}

}  // namespace sunkeep::config
