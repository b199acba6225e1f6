// Energy Meter and Sunny Home Manager datagrams, protocols 0x6069 and 0x6081 (sma-speedwire.md §8):
// the sender, its millisecond ticker and its OBIS items, all big-endian. Decoding stops at an item
// of unknown length and keeps what came before it.
#pragma once

#include "common/parsed.hpp"
#include "protocol/sma/packet.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sunkeep::sma {

// One OBIS item B.C.D.E and its value.
struct ObisItem {
  std::uint8_t channel = 0;  // B: 0 = the device's own measurement
  std::uint8_t index = 0;    // C: the measured quantity
  std::uint8_t kind = 0;     // D: 4 current value (u32), 8 counter (u64)
  std::uint8_t tariff = 0;   // E
  std::uint64_t value = 0;
};

struct MeterDatagram {
  std::uint16_t protocol = 0;  // 0x6069 or 0x6081
  Address sender;              // SUSy-ID 270 EM 1.0, 349 EM 2.0, 372 SHM 2.0
  std::uint32_t ticker = 0;    // ms, wraps at 2^32
  std::vector<ObisItem> items;
  std::optional<std::string> firmware;  // from 144.0.0.0, e.g. "2.0.18.R"
  bool stopped_early = false;           // an item of unknown length ended the walk
};

// A meter datagram, or why it is not one (generic header, protocol not 0x6069/0x6081, too short
// for the sender and ticker).
Parsed<MeterDatagram> decode_meter(std::span<const std::uint8_t> datagram);

// Channel 0's current value (D = 4) or counter (D = 8) of quantity `index`, if the datagram has it.
std::optional<std::uint64_t> current_value(const MeterDatagram& meter, std::uint8_t index);
std::optional<std::uint64_t> counter_value(const MeterDatagram& meter, std::uint8_t index);

}  // namespace sunkeep::sma
