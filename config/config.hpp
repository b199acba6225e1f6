// sunkeep's configuration (interfaces.md §2): built-in defaults, overridden by a TOML file.
// Unknown keys, wrong types and bad values are problems naming the key and its line.
#pragma once

#include "config/limits.hpp"
#include "config/log.hpp"
#include "config/mqtt.hpp"
#include "config/site.hpp"
#include "config/values.hpp"
#include "config/vendor/sections.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sunkeep::config {

using std::chrono::milliseconds;

struct StorageConfig {
  std::string path = "data/sunkeep.db";  // its folder is created if missing
};

struct HttpConfig {
  Endpoint listen{"127.0.0.1", 8080};
  std::string token;
  std::uint32_t max_points = 100'000;  // larger raw series/frames answers are refused with 413
  bool expose_personal_data = false;   // show address, phone, licence, zip code of config uploads
  std::uint32_t max_connections = 1024;  // open HTTP connections; more are closed at once
  std::uint32_t max_buffered_mb = 64;    // answers held for clients, all connections together
  std::string metrics_token;             // also accepted on /metrics, and only there
  std::uint32_t max_live_clients = 64;   // open /api/v1/live streams; more get 503
};

// Every section: the generic ones here, the vendors' in config/vendor/.
struct Config : VendorSections {
  StorageConfig storage;
  HttpConfig http;
  MqttConfig mqtt;
  SiteConfig site;
  LogConfig log;
};

struct Problem {
  std::string key;    // dotted, e.g. "http.listen" ("" for a syntax error)
  std::size_t line = 0;
  std::string message;

  [[nodiscard]] std::string to_string(const std::string& source) const;
};

struct LoadResult {
  Config config;
  std::vector<Problem> problems;  // empty when the file is valid

  [[nodiscard]] bool ok() const { return problems.empty(); }
};

// Reads TOML text; every key not given keeps its default.
LoadResult parse_config(std::string_view toml_text, const std::string& source_name);
// Reads a file; a file that cannot be opened is one problem with line 0.
LoadResult load_config_file(const std::filesystem::path& path);

}  // namespace sunkeep::config
