// The Speedwire tag chain, the generic header check and the 0x6065 header (sma-speedwire.md §2, §3).
#include "protocol/sma/packet.hpp"

#include "common/bytes.hpp"

#include <algorithm>
#include <string>

namespace sunkeep::sma {

namespace {

using bytes::big_endian;
using bytes::holds;
using bytes::little_endian;

constexpr std::array<std::uint8_t, 4> signature{'S', 'M', 'A', 0};
constexpr std::size_t tag_header_size = 4;
constexpr std::uint16_t tag_net_version = 0x02A0;
constexpr std::size_t data2_start = 16;  // the data2 value: protocol id, then the protocol body
constexpr std::size_t end_tag_size = 4;

// Offsets of the 0x6065 header (§3.1).
constexpr std::size_t at_long_words = 18;
constexpr std::size_t at_ctrl = 19;
constexpr std::size_t at_destination = 20;
constexpr std::size_t at_destination_ctrl = 26;
constexpr std::size_t at_source = 28;
constexpr std::size_t at_source_ctrl = 34;
constexpr std::size_t at_error = 36;
constexpr std::size_t at_fragment = 38;
constexpr std::size_t at_packet_id = 40;
constexpr std::size_t at_command = 42;
constexpr std::size_t at_first = 46;
constexpr std::size_t at_last = 50;
constexpr std::size_t at_body = 54;

constexpr std::uint16_t packet_id_counter_bits = 0x7FFF;

bool has_signature(std::span<const std::uint8_t> datagram) {
  return holds(datagram, 0, signature.size()) && std::equal(signature.begin(), signature.end(), datagram.begin());
}

// The data2 length `n` at 12; the caller has checked the generic header.
std::size_t data2_length(std::span<const std::uint8_t> datagram) { return big_endian<std::uint16_t>(datagram, 12); }

Address address_at(std::span<const std::uint8_t> datagram, std::size_t at) {
  return {little_endian<std::uint16_t>(datagram, at), little_endian<std::uint32_t>(datagram, at + 2)};
}

}  // namespace

Parsed<std::vector<Tag>> walk_tags(std::span<const std::uint8_t> datagram) {
  if (!has_signature(datagram)) return Parsed<std::vector<Tag>>::failure("no SMA signature");
  std::vector<Tag> tags;
  std::size_t at = signature.size();
  while (holds(datagram, at, tag_header_size)) {
    const std::uint16_t length = big_endian<std::uint16_t>(datagram, at);
    const std::uint16_t id = big_endian<std::uint16_t>(datagram, at + 2);
    if (length == 0 && id == 0) return tags;
    at += tag_header_size;
    if (!holds(datagram, at, length)) {
      return Parsed<std::vector<Tag>>::failure("the tag at offset " + std::to_string(at - tag_header_size) +
                                               " runs past the end of the datagram");
    }
    tags.push_back({id, datagram.subspan(at, length)});
    at += length;
  }
  return Parsed<std::vector<Tag>>::failure("no end tag");
}

std::optional<std::uint16_t> protocol_of(std::span<const std::uint8_t> datagram) {
  if (!has_signature(datagram) || !holds(datagram, 0, data2_start + 2)) return std::nullopt;
  if (big_endian<std::uint16_t>(datagram, 4) != 4 || big_endian<std::uint16_t>(datagram, 6) != tag_net_version) {
    return std::nullopt;
  }
  if (big_endian<std::uint16_t>(datagram, 14) != tag_data2) return std::nullopt;
  const std::size_t n = data2_length(datagram);
  if (n < 2 || !holds(datagram, data2_start, n + end_tag_size)) return std::nullopt;
  return big_endian<std::uint16_t>(datagram, data2_start);
}

Parsed<InverterPacket> parse_inverter_packet(std::span<const std::uint8_t> datagram) {
  const auto protocol = protocol_of(datagram);
  if (!protocol) return Parsed<InverterPacket>::failure("not a Speedwire datagram with a data2 tag");
  if (*protocol != protocol_inverter) return Parsed<InverterPacket>::failure("not an inverter (0x6065) datagram");
  const std::size_t data_end = data2_start + data2_length(datagram);
  if (data_end < at_last) return Parsed<InverterPacket>::failure("0x6065 header cut short");
  InverterPacket packet;
  packet.long_words = datagram[at_long_words];
  packet.ctrl = datagram[at_ctrl];
  packet.destination = address_at(datagram, at_destination);
  packet.destination_ctrl = little_endian<std::uint16_t>(datagram, at_destination_ctrl);
  packet.source = address_at(datagram, at_source);
  packet.source_ctrl = little_endian<std::uint16_t>(datagram, at_source_ctrl);
  packet.error = little_endian<std::uint16_t>(datagram, at_error);
  packet.fragment = little_endian<std::uint16_t>(datagram, at_fragment);
  packet.packet_id = little_endian<std::uint16_t>(datagram, at_packet_id);
  packet.command = little_endian<std::uint32_t>(datagram, at_command);
  packet.first = little_endian<std::uint32_t>(datagram, at_first);
  if (data_end >= at_body) packet.last = little_endian<std::uint32_t>(datagram, at_last);
  if (data_end > at_body) packet.body = datagram.subspan(at_body, data_end - at_body);
  return packet;
}

bool answers(const InverterPacket& reply, const Outstanding& request) {
  if ((reply.packet_id & packet_id_counter_bits) != (request.packet_id & packet_id_counter_bits)) return false;
  if (reply.command != request.command + 1) return false;
  return !request.target || reply.source == *request.target;
}

std::optional<std::array<std::uint8_t, 4>> discovery_reply_address(std::span<const std::uint8_t> datagram) {
  const auto tags = walk_tags(datagram);
  if (!tags) return std::nullopt;
  for (const Tag& tag : *tags) {
    if (tag.id != tag_ipv4 || tag.value.size() != 4) continue;
    return std::array<std::uint8_t, 4>{tag.value[0], tag.value[1], tag.value[2], tag.value[3]};
  }
  return std::nullopt;
}

}  // namespace sunkeep::sma
