// The whitelisted Speedwire request builders (sma-speedwire.md §3.1, §4, §5, §6, §9.6).
#include "protocol/sma/requests.hpp"

#include "common/bytes.hpp"

#include <algorithm>
#include <concepts>

namespace sunkeep::sma {

namespace {

// The read queries of §6 marked S, C or O, in table order.
constexpr std::array<QueryRow, 17> rows{{
    {Query::software_version, "software_version", 0x58000200, 0x00823400, 0x008234FF, QueryUse::per_login, false},
    {Query::type_label, "type_label", 0x58000200, 0x00821E00, 0x008220FF, QueryUse::per_login, false},
    {Query::energy, "energy", 0x54000200, 0x00260100, 0x002622FF, QueryUse::per_cycle, false},
    {Query::operating_time, "operating_time", 0x54000200, 0x00462E00, 0x00462FFF, QueryUse::optional, false},
    {Query::dc_power, "dc_power", 0x53800200, 0x00251E00, 0x00251EFF, QueryUse::per_cycle, false},
    {Query::dc_power_sb1600, "dc_power_sb1600", 0x53800200, 0x00451E00, 0x00451EFF, QueryUse::optional, false},
    {Query::dc_volt_amp, "dc_volt_amp", 0x53800200, 0x00451F00, 0x004521FF, QueryUse::per_cycle, false},
    {Query::ac_power_total, "ac_power_total", 0x51000200, 0x00263F00, 0x00263FFF, QueryUse::per_cycle, false},
    {Query::ac_power_phases, "ac_power_phases", 0x51000200, 0x00464000, 0x004642FF, QueryUse::per_cycle, false},
    {Query::ac_volt_amp, "ac_volt_amp", 0x51000200, 0x00464800, 0x004655FF, QueryUse::per_cycle, false},
    {Query::grid_frequency, "grid_frequency", 0x51000200, 0x00465700, 0x004657FF, QueryUse::per_cycle, false},
    {Query::temperature, "temperature", 0x52000200, 0x00237700, 0x002377FF, QueryUse::per_cycle, false},
    {Query::device_status, "device_status", 0x51800200, 0x00214800, 0x002148FF, QueryUse::per_cycle, false},
    {Query::grid_relay, "grid_relay", 0x51800200, 0x00416400, 0x004164FF, QueryUse::per_cycle, false},
    {Query::battery_soc, "battery_soc", 0x51000200, 0x00295A00, 0x00295AFF, QueryUse::per_cycle, true},
    {Query::battery_info, "battery_info", 0x51000200, 0x00491E00, 0x00495DFF, QueryUse::per_cycle, true},
    {Query::meter_via_inverter, "meter_via_inverter", 0x51000200, 0x00463600, 0x004637FF, QueryUse::optional, false},
}};

// The data2 lengths `n` of the fixed shapes.
constexpr std::uint16_t read_data_length = 0x26;
constexpr std::uint16_t login_data_length = 0x3A;
constexpr std::uint16_t logoff_data_length = 0x22;

constexpr std::uint8_t ctrl_default = 0xA0;
constexpr std::uint8_t ctrl_for_some_devices = 0xE0;
constexpr std::uint16_t ctrl_word_login = 0x0100;
constexpr std::uint16_t ctrl_word_logoff = 0x0300;
constexpr std::uint16_t packet_id_sent_bit = 0x8000;

constexpr std::uint32_t login_group_user = 0x00000007;
constexpr std::uint32_t login_group_installer = 0x0000000A;
constexpr std::uint32_t login_timeout_seconds = 900;
constexpr std::uint32_t logoff_argument = 0xFFFFFFFF;
constexpr std::uint8_t password_key_user = 0x88;
constexpr std::uint8_t password_key_installer = 0xBB;
constexpr std::size_t password_at = 62;

constexpr std::array<std::uint8_t, 20> discovery_request{0x53, 0x4D, 0x41, 0x00, 0x00, 0x04, 0x02, 0xA0, 0xFF, 0xFF,
                                                         0xFF, 0xFF, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00};

template <std::unsigned_integral T>
void put_little_endian(Datagram& out, std::size_t at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

template <std::unsigned_integral T>
void put_big_endian(Datagram& out, std::size_t at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[at + i] = static_cast<std::uint8_t>(value >> (8 * (sizeof(T) - 1 - i)));
  }
}

// "SMA\0", the 0x02A0 tag with group 1, the data2 tag of length n with protocol 0x6065, then
// zeros up to and including the end tag: 16 + n + 4 bytes.
Datagram inverter_datagram(std::uint16_t n) {
  Datagram out(16u + n + 4u, 0);
  const std::array<std::uint8_t, 4> signature{'S', 'M', 'A', 0};
  std::copy(signature.begin(), signature.end(), out.begin());
  put_big_endian<std::uint16_t>(out, 4, 4);
  put_big_endian<std::uint16_t>(out, 6, 0x02A0);
  put_big_endian<std::uint32_t>(out, 8, 1);
  put_big_endian<std::uint16_t>(out, 12, n);
  put_big_endian<std::uint16_t>(out, 14, tag_data2);
  put_big_endian<std::uint16_t>(out, 16, protocol_inverter);
  out[18] = static_cast<std::uint8_t>((n - 2) / 4);  // long-words
  return out;
}

std::uint8_t ctrl_for(const Address& destination) {
  const bool needs_e0 = destination.susy_id == 244 || destination.susy_id == 175;
  return needs_e0 ? ctrl_for_some_devices : ctrl_default;
}

// Offsets 19..45 of the 0x6065 header (§3.1); error and fragment stay 0.
void put_header(Datagram& out, const RequestHeader& header, std::uint16_t ctrl_word, std::uint32_t command) {
  out[19] = ctrl_for(header.destination);
  put_little_endian(out, 20, header.destination.susy_id);
  put_little_endian(out, 22, header.destination.serial);
  put_little_endian(out, 26, ctrl_word);
  put_little_endian(out, 28, own_susy_id);
  put_little_endian(out, 30, header.source_serial);
  put_little_endian(out, 34, ctrl_word);
  put_little_endian(out, 40, static_cast<std::uint16_t>(header.packet_id | packet_id_sent_bit));
  put_little_endian(out, 42, command);
}

bool is_identify(std::uint32_t command, std::uint32_t first, std::uint32_t last) {
  return command == command_identify && first == 0 && last == 0;
}

bool is_query_row(std::uint32_t command, std::uint32_t first, std::uint32_t last) {
  return std::any_of(rows.begin(), rows.end(), [&](const QueryRow& row) {
    return row.command == command && row.first == first && row.last == last;
  });
}

std::uint8_t password_key(UserGroup group) {
  return group == UserGroup::installer ? password_key_installer : password_key_user;
}

std::uint32_t login_group(UserGroup group) {
  return group == UserGroup::installer ? login_group_installer : login_group_user;
}

// Any datagram with the signature, protocol 0x6065 and a login command at 42, even one whose
// header is otherwise malformed: what it echoes must not reach the archive either.
bool is_login_datagram(std::span<const std::uint8_t> datagram) {
  constexpr std::size_t at_protocol = 16;
  constexpr std::size_t at_command = 42;
  if (!bytes::holds(datagram, 0, at_command + 4)) return false;
  if (datagram[0] != 'S' || datagram[1] != 'M' || datagram[2] != 'A' || datagram[3] != 0) return false;
  if (bytes::big_endian<std::uint16_t>(datagram, at_protocol) != protocol_inverter) return false;
  const auto command = bytes::little_endian<std::uint32_t>(datagram, at_command);
  return command == command_login || command == command_login_reply;
}

}  // namespace

std::span<const QueryRow> query_table() { return rows; }

// A value outside the enum (a programming error) gets the first row: still a whitelisted read.
const QueryRow& row_of(Query query) {
  const auto* row = std::find_if(rows.begin(), rows.end(), [query](const QueryRow& r) { return r.query == query; });
  return row == rows.end() ? rows.front() : *row;
}

std::optional<Datagram> build_read(const RequestHeader& header, std::uint32_t command, std::uint32_t first,
                                   std::uint32_t last) {
  if (!is_identify(command, first, last) && !is_query_row(command, first, last)) return std::nullopt;
  Datagram out = inverter_datagram(read_data_length);
  put_header(out, header, header.ctrl_word, command);
  put_little_endian(out, 46, first);
  put_little_endian(out, 50, last);
  return out;
}

Datagram build_query(const RequestHeader& header, Query query) {
  const QueryRow& row = row_of(query);
  return *build_read(header, row.command, row.first, row.last);
}

Datagram build_identify(const RequestHeader& header) { return *build_read(header, command_identify, 0, 0); }

Parsed<EncodedPassword> encode_password(std::string_view password, UserGroup group) {
  EncodedPassword encoded{};
  if (password.size() > encoded.size()) {
    return Parsed<EncodedPassword>::failure("the password is longer than 12 characters");
  }
  const std::uint8_t key = password_key(group);
  encoded.fill(key);
  for (std::size_t i = 0; i < password.size(); ++i) {
    const auto c = static_cast<std::uint8_t>(password[i]);
    if (c >= 0x80) return Parsed<EncodedPassword>::failure("the password is not ASCII");
    encoded[i] = static_cast<std::uint8_t>(c + key);
  }
  return encoded;
}

Datagram build_login(const RequestHeader& header, UserGroup group, const EncodedPassword& password,
                     std::uint32_t unix_time) {
  Datagram out = inverter_datagram(login_data_length);
  put_header(out, header, ctrl_word_login, command_login);
  put_little_endian(out, 46, login_group(group));
  put_little_endian(out, 50, login_timeout_seconds);
  put_little_endian(out, 54, unix_time);
  std::copy(password.begin(), password.end(), out.begin() + password_at);
  return out;
}

Datagram build_logoff(std::uint32_t source_serial, std::uint16_t packet_id) {
  Datagram out = inverter_datagram(logoff_data_length);
  const RequestHeader header{.destination = any_device, .source_serial = source_serial, .packet_id = packet_id};
  put_header(out, header, ctrl_word_logoff, command_logoff);
  put_little_endian(out, 46, logoff_argument);
  return out;
}

Datagram build_discovery() { return {discovery_request.begin(), discovery_request.end()}; }

bool zero_password(std::span<std::uint8_t> datagram) {
  if (!is_login_datagram(datagram) || datagram.size() <= password_at) return false;
  const std::size_t end = std::min(datagram.size(), password_at + EncodedPassword{}.size());
  std::fill(datagram.begin() + static_cast<std::ptrdiff_t>(password_at),
            datagram.begin() + static_cast<std::ptrdiff_t>(end), std::uint8_t{0});
  return true;
}

}  // namespace sunkeep::sma
