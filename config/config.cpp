// Reading and validating the TOML config file against the key table of interfaces.md §2.
#include "config/config.hpp"

#include "config/readers.hpp"
#include "config/vendor/tables.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

namespace sunkeep::config {

SectionSpec mqtt_section();  // config/mqtt.cpp
SectionSpec site_section();  // config/site.cpp
SectionSpec log_section();   // config/log.cpp

namespace {

std::vector<SectionSpec> generic_sections() {
  using C = Config;
  return {
      {"storage", {{"path", text([](C& c) -> std::string& { return c.storage.path; })}}},
      {"http",
       {{"listen", listen_address([](C& c) -> Endpoint& { return c.http.listen; })},
        {"token", text([](C& c) -> std::string& { return c.http.token; })},
        {"metrics_token", text([](C& c) -> std::string& { return c.http.metrics_token; })},
        {"max_points", integer([](C& c) -> std::uint32_t& { return c.http.max_points; }, 1, 10'000'000)},
        {"expose_personal_data", boolean([](C& c) -> bool& { return c.http.expose_personal_data; })},
        {"max_connections", integer([](C& c) -> std::uint32_t& { return c.http.max_connections; }, 1, 1'000'000)},
        {"max_buffered_mb", integer([](C& c) -> std::uint32_t& { return c.http.max_buffered_mb; }, 1, 1'000'000)},
        {"max_live_clients", integer([](C& c) -> std::uint32_t& { return c.http.max_live_clients; }, 1, 100'000)}}},
      mqtt_section(),
      site_section(),
      log_section(),
  };
}

const std::vector<SectionSpec>& sections() {
  static const std::vector<SectionSpec> specs = [] {
    std::vector<SectionSpec> all = generic_sections();
    for (auto& vendor : vendor_sections()) all.push_back(std::move(vendor));
    return all;
  }();
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
  for (const auto& spec : sections()) {
    if (spec.check) spec.check(config, problems);
  }
}

// Line `number` (1-based) of `text`.
std::string_view line_text(std::string_view text, std::size_t number) {
  for (std::size_t line = 1; line < number && !text.empty(); ++line) {
    const auto end = text.find('\n');
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return text.substr(0, text.find('\n'));
}

// The parser's description quotes what it stumbled on; on a line holding a secret that would be a
// piece of the secret, so there the quoted parts are left out.
std::string syntax_error_text(std::string_view description, std::string_view line) {
  std::string lower(line);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("password") == std::string::npos && lower.find("token") == std::string::npos) return std::string(description);
  std::string out;
  bool quoted = false;
  for (const char c : description) {
    if (c == '\'') {
      quoted = !quoted;
      out += quoted ? "'…" : "'";
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
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
    const std::size_t line = e.source().begin.line;
    result.problems.push_back({"", line, "TOML syntax error: " + syntax_error_text(e.description(), line_text(toml_text, line))});
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
