// The [apsystems] section and its [[apsystems.ecu]] entries (apsystems-ecu.md §11.1).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sunkeep::config {

// An ECU polled on TCP; `ecu_id` "" = learned from its 0001 reply.
struct ApsystemsEcu {
  std::string host;
  std::uint16_t port = 8899;
  std::string ecu_id;
  std::size_t line = 0;  // of its `host` key in the config file, for problems found across entries
};

struct ApsystemsConfig {
  bool enabled = true;
  std::chrono::milliseconds poll_interval = std::chrono::seconds(60);
  std::chrono::milliseconds command_pause = std::chrono::seconds(3);
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds read_timeout = std::chrono::seconds(5);
  std::uint32_t retries = 2;
  std::vector<ApsystemsEcu> ecus;
};

}  // namespace sunkeep::config
