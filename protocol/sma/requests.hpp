// Everything sunkeep may send to an SMA device (sma-speedwire.md §9.6), and nothing else: the
// multicast discovery request, identify, login, logoff and the read queries of §6 marked S, C or O.
// The only way to a 0x6065 read is build_read(), which refuses any (command, first, last) triple
// outside that list; the typed builders go through it or build their fixed shapes.
#pragma once

#include "common/parsed.hpp"
#include "protocol/sma/packet.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace sunkeep::sma {

using Datagram = std::vector<std::uint8_t>;

inline constexpr std::uint32_t command_identify = 0x00000200;
inline constexpr std::uint32_t command_login = 0xFFFD040C;
inline constexpr std::uint32_t command_login_reply = 0xFFFD040D;
inline constexpr std::uint32_t command_logoff = 0xFFFD010E;

inline constexpr std::uint16_t own_susy_id = 125;

// Error codes of a reply (§4.3).
inline constexpr std::uint16_t error_bad_password = 0x0100;
inline constexpr std::uint16_t error_not_authenticated = 0x0017;
inline constexpr std::uint16_t error_unsupported = 0x0015;

// The read queries of §6 that sunkeep may send, in table order.
enum class Query : std::uint8_t {
  software_version,
  type_label,
  energy,
  operating_time,
  dc_power,
  dc_power_sb1600,
  dc_volt_amp,
  ac_power_total,
  ac_power_phases,
  ac_volt_amp,
  grid_frequency,
  temperature,
  device_status,
  grid_relay,
  battery_soc,
  battery_info,
  meter_via_inverter,
};

// When a query is sent: S once per login, C every cycle, O only when asked for.
enum class QueryUse { per_login, per_cycle, optional };

struct QueryRow {
  Query query;
  std::string_view name;  // snake_case, for logs
  std::uint32_t command;
  std::uint32_t first;
  std::uint32_t last;
  QueryUse use;
  bool battery;  // sent only while not marked unsupported for the device
};

// The rows above, in §6 order.
std::span<const QueryRow> query_table();
const QueryRow& row_of(Query query);

// Who a request goes to and comes from.
struct RequestHeader {
  Address destination = any_device;
  std::uint32_t source_serial = 0;  // src SUSy-ID is always own_susy_id
  std::uint16_t ctrl_word = 0;      // dst and src ctrl (0x0000 or 0x0100 for a read)
  std::uint16_t packet_id = 0;      // as sent; the builder sets bit 15
};

// A 58-byte read request, or nullopt when (command, first, last) is not identify or a query of
// query_table(). No other read can be built.
std::optional<Datagram> build_read(const RequestHeader& header, std::uint32_t command, std::uint32_t first,
                                   std::uint32_t last);
// The typed forms of build_read(), which cannot fail.
Datagram build_query(const RequestHeader& header, Query query);
Datagram build_identify(const RequestHeader& header);  // command 0x200, first = last = 0

enum class UserGroup { user, installer };

// The 12 password bytes as sent (§4.2).
using EncodedPassword = std::array<std::uint8_t, 12>;

// The password encoded for `group`, or why it cannot be sent (not ASCII, longer than 12). The
// error never contains the password.
Parsed<EncodedPassword> encode_password(std::string_view password, UserGroup group);

// The 78-byte login (§4.1): ctrl word 0x0100 both ways.
Datagram build_login(const RequestHeader& header, UserGroup group, const EncodedPassword& password,
                     std::uint32_t unix_time);
// The 54-byte logoff (§4.4) to any device, ctrl word 0x0300.
Datagram build_logoff(std::uint32_t source_serial, std::uint16_t packet_id);
// The 20-byte multicast discovery request (§5).
Datagram build_discovery();

// Zeroes the 12 password bytes (62..73) of a login request or reply (command 0xFFFD040C or
// 0xFFFD040D) before it is archived or shown; other datagrams are left as they are. True when
// something was zeroed.
bool zero_password(std::span<std::uint8_t> datagram);

}  // namespace sunkeep::sma
