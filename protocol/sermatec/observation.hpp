// Sermatec → the vendor-neutral vocabulary: each frame of a connection (an answer, or a query
// sunkeep sent) becomes an Observation: the frame archived with its secrets zeroed, the values
// its layout decodes to under their snake_case and canonical names, and the alarm bits it raised.
// Pure: the session calls it on its own thread.
#pragma once

#include "common/observation.hpp"
#include "protocol/sermatec/decode.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::sermatec {

inline constexpr const char* vendor_name = "sermatec";

// What decoding remembers between the frames of one connection.
struct AnswerMemory {
  // bat_status of this poll cycle's 0x0A answer: it signs battery power and current.
  std::optional<double> cycle_battery_status;
  std::map<std::string, std::uint16_t> alarm_words;  // the last fault/alarm words, for raised bits
};

struct FrameSeen {
  const Frame& frame;
  bool outgoing = false;  // a query sunkeep sent
  UtcMillis time = 0;
  std::string serial;
  std::string peer;
  const Definitions& definitions;
  int battery_brand = 0;             // from the 0x98 answer
  std::int64_t poll_interval_ms = 0;  // the cadence of the values
};

// `notes`: what the decoding found odd (a short payload, an unknown flag value), for the log.
Observation observe(const FrameSeen& in, AnswerMemory& memory, std::vector<std::string>& notes);

// An identified inverter: its model and PCU version as the device's model and firmware.
Observation observe_identity(const Identity& identity, const std::string& peer, UtcMillis time);

}  // namespace sunkeep::sermatec
