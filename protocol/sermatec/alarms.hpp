// Sermatec fault and BMS alarm words as events (sermatec.md §5.9, §6.4 R4): a bit that turns
// from 0 to 1 becomes an event with the spec's code number and a short text of sunkeep's own.
// The bit → code mapping is inferred by the spec, so every text says so.
#pragma once

#include "protocol/sermatec/decode.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sunkeep::sermatec {

struct AlarmEvent {
  std::string source;  // "sermatec_fault" or "sermatec_bms"
  std::string code;    // the §5.9 code number, or "bms_bit_<n>" where the battery's block is unknown
  std::string text;
};

// Compares the fault/alarm words of a 0x1F or 0x1E answer with `previous` (words seen before on
// this connection; missing words count as 0), returns the bits that were raised and updates
// `previous`. `battery_brand` (0x98 @2) selects the 96-code block of the BMS bits.
std::vector<AlarmEvent> raised_alarms(std::uint8_t code, const Decoded& values, int battery_brand,
                                      std::map<std::string, std::uint16_t>& previous);

// The text for a system fault code (1–80), "" for a code with no known meaning.
std::string fault_text(int code);

}  // namespace sunkeep::sermatec
