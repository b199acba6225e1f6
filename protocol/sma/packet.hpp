// The Speedwire datagram (sma-speedwire.md §2, §3): the "SMA\0" tag chain, the generic header
// every 0x6065/0x6069/0x6081 datagram shares, the 0x6065 inverter header and the rule that tells
// a reply to an outstanding request (§3.2). Pure and bounds-checked: nothing here reads past the
// datagram, whatever it holds.
#pragma once

#include "common/parsed.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace sunkeep::sma {

inline constexpr std::string_view vendor_name = "sma";

inline constexpr std::uint16_t protocol_inverter = 0x6065;
inline constexpr std::uint16_t protocol_meter = 0x6069;
inline constexpr std::uint16_t protocol_meter_extended = 0x6081;

inline constexpr std::uint16_t tag_data2 = 0x0010;
inline constexpr std::uint16_t tag_discovery = 0x0020;
inline constexpr std::uint16_t tag_ipv4 = 0x0030;

// One tag of the chain; `value` points into the datagram.
struct Tag {
  std::uint16_t id = 0;
  std::span<const std::uint8_t> value;
};

// The tags after "SMA\0" up to (not including) the end tag, or why the datagram is not a tag
// chain (no "SMA\0", a tag running past the end, no end tag).
Parsed<std::vector<Tag>> walk_tags(std::span<const std::uint8_t> datagram);

// The protocol id at 16 when the generic header of §3.2 rule 1 holds ("SMA\0", tag 0x02A0 at 4,
// tag 0x0010 at 14, 16 + n + 4 ≤ size), else nullopt.
std::optional<std::uint16_t> protocol_of(std::span<const std::uint8_t> datagram);

// A device on the bus: SUSy-ID and serial.
struct Address {
  std::uint16_t susy_id = 0;
  std::uint32_t serial = 0;

  friend bool operator==(const Address&, const Address&) = default;
};

// dst "any": reaches whatever device owns the IP.
inline constexpr Address any_device{0xFFFF, 0xFFFFFFFF};

// The 0x6065 header (§3.1); every field after offset 17 is little-endian.
struct InverterPacket {
  std::uint8_t long_words = 0;
  std::uint8_t ctrl = 0;
  Address destination;
  std::uint16_t destination_ctrl = 0;
  Address source;
  std::uint16_t source_ctrl = 0;
  std::uint16_t error = 0;
  std::uint16_t fragment = 0;
  std::uint16_t packet_id = 0;  // as on the wire, bit 15 included
  std::uint32_t command = 0;
  std::uint32_t first = 0;
  std::optional<std::uint32_t> last;   // absent in a logoff (n = 0x22)
  std::span<const std::uint8_t> body;  // from 54 up to the end tag: records, login data; may be empty
};

// A 0x6065 datagram's header, or why it is not one (generic header, protocol id, n too short to
// hold the fields up to `first`).
Parsed<InverterPacket> parse_inverter_packet(std::span<const std::uint8_t> datagram);

// The request a reply must answer.
struct Outstanding {
  std::uint16_t packet_id = 0;    // as sent, bit 15 set
  std::uint32_t command = 0;      // the request's command
  std::optional<Address> target;  // once identify has named the device
};

// §3.2 rules 2–4: same packet id (low 15 bits), command + 1, and the target as source when known.
bool answers(const InverterPacket& reply, const Outstanding& request);

// The IPv4 address (network order) of a multicast discovery reply's tag 0x0030, if it has one.
std::optional<std::array<std::uint8_t, 4>> discovery_reply_address(std::span<const std::uint8_t> datagram);

}  // namespace sunkeep::sma
