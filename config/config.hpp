// sunkeep's configuration (interfaces.md §2): built-in defaults, overridden by a TOML file.
// Unknown keys, wrong types and bad values are problems naming the key and its line.
#pragma once

#include "config/values.hpp"

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
};

// Caps on a device listener's open connections (interfaces.md §2): beyond them a new connection
// is closed at once.
struct ConnectionLimits {
  std::uint32_t max_connections = 20'000;         // per listener
  std::uint32_t max_connections_per_host = 1024;  // per source address
};

struct AlphaEssConfig {
  bool enabled = true;
  Endpoint listen{"0.0.0.0", 7777};
  std::string timezone = "UTC";
  bool backfill = true;
  milliseconds backfill_min_gap = std::chrono::minutes(2);
  milliseconds backfill_max_age = std::chrono::hours(24 * 7);
  milliseconds idle_timeout = std::chrono::minutes(5);
  std::uint32_t max_frame = 65536;
  ConnectionLimits limits;
};

struct SermatecInverter {
  std::string host;
  std::uint16_t port = 8899;
};

struct SermatecConfig {
  bool enabled = true;
  Endpoint listen{"0.0.0.0", 19042};
  milliseconds poll_interval = std::chrono::seconds(30);
  bool query_drm = false;
  bool query_forced_charge = false;
  bool query_network = false;
  ConnectionLimits limits;
  std::vector<SermatecInverter> inverters;
};

struct Config {
  StorageConfig storage;
  HttpConfig http;
  AlphaEssConfig alphaess;
  SermatecConfig sermatec;
};

struct Problem {
  std::string key;    // dotted, e.g. "alphaess.idle_timeout" ("" for a syntax error)
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
