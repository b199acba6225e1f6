// The APsystems ECU local protocol on TCP 8899 (apsystems-ecu.md §2–§7), pure and bounds-checked:
// the three read-only requests sunkeep sends (0001, 0002, 0030: nothing else can be built), the
// reply read rule and validation of §3, and the decoders of the 0001, 0002 and 0030 replies with
// the record walk of §5 (type-05 and unknown-type sizes decided by tiling). A reply that does not
// hold together is a Malformed result, never an exception.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sunkeep::apsystems {

inline constexpr std::string_view vendor_name = "apsystems";

using Bytes = std::vector<std::uint8_t>;

// The only commands sunkeep sends (§11.2 rule 6). The value is the command code as a number, as the
// frame archive shows it (interfaces.md §3).
enum class Command : std::uint16_t { ecu_info = 1, realtime = 2, signal = 30 };

// "0001", "0002", "0030".
std::string_view command_code(Command command);

// True for 12 ASCII digits.
bool valid_ecu_id(std::string_view id);

// The request for `command` (with its final '\n'). 0001 takes no id; 0002 and 0030 need a valid
// ECU id and give none without one.
std::optional<Bytes> build_request(Command command, std::string_view ecu_id = {});

// §3 read rule. The first `length_prefix` bytes carry the length field.
inline constexpr std::size_t length_prefix = 9;
// What the first bytes of a reply announce: the whole reply's size (LLLL + 1), or nullopt when
// bytes 5..8 are not four ASCII digits. Needs at least length_prefix bytes (nullopt otherwise).
std::optional<std::size_t> announced_size(std::span<const std::uint8_t> head);

// Why a reply is not valid for `sent` (§3), or nullopt when it is. `reply` is exactly the bytes
// announced (LLLL + 1).
std::optional<std::string> invalid_reply(std::span<const std::uint8_t> reply, Command sent);

struct Malformed {
  std::string why;
};

// 0001 (§4).
struct EcuInfo {
  std::string ecu_id;   // 12 digits
  std::string layout;   // "01" (or the unverified "02")
  double lifetime_energy_kwh = 0;
  std::uint32_t current_power_w = 0;
  double today_energy_kwh = 0;
  std::optional<std::string> last_cloud_connection;  // "YYYY-MM-DD hh:mm:ss"; none when unset
  std::uint16_t inverters = 0;
  std::uint16_t inverters_online = 0;
  std::string zigbee_channel;  // layout 01 only
  std::string firmware;
  std::string time_zone;       // layout 01 only
  std::optional<std::array<std::uint8_t, 6>> ethernet_mac;  // layout 01 only
  std::optional<std::array<std::uint8_t, 6>> wifi_mac;      // layout 01 only
};
std::variant<EcuInfo, Malformed> decode_ecu_info(std::span<const std::uint8_t> reply);

// One inverter's record of a 0002 reply (§5).
struct InverterRecord {
  std::string uid;            // 12 lowercase hex digits
  std::uint8_t state = 0;     // as sent: 1 online, 0 offline, anything else treated as offline
  std::string type_code;      // the two ASCII characters as sent
  // A type sunkeep reads: 00–04, or 05 once the walk decided its size. An unreadable record keeps
  // its UID and state; where the walk stopped at it, `raw` runs to the end of the records.
  bool readable = false;
  bool decoded = false;       // a known type (or a decided 05) with data: the fields below are set
  double frequency_hz = 0;
  int temperature_c = 0;
  std::vector<std::uint16_t> powers_w;   // per channel / panel
  std::vector<std::uint16_t> voltages_v;
  Bytes raw;                  // the record's bytes

  [[nodiscard]] bool online() const { return state == 1; }
};

// 0002 (§5). With match status "01" nothing past the status is read.
struct Realtime {
  std::string status;  // "00" data, "01" no data
  std::string flag;
  std::uint16_t declared_records = 0;
  std::optional<std::string> timestamp;  // "YYYY-MM-DD hh:mm:ss"; none when unset or not BCD
  std::vector<InverterRecord> records;
  // Records the walk could not place or decide, count mismatches, odd state bytes: the reply is
  // reported (each problem once per kind is enough) but the records above stand.
  std::vector<std::string> problems;

  [[nodiscard]] bool no_data() const { return status == "01"; }
};
std::variant<Realtime, Malformed> decode_realtime(std::span<const std::uint8_t> reply);

// 0030 (§7).
struct SignalLevel {
  std::string uid;
  std::uint8_t level = 0;  // 0..255
};
struct Signal {
  std::string status;
  std::vector<SignalLevel> levels;

  [[nodiscard]] bool no_data() const { return status == "01"; }
};
std::variant<Signal, Malformed> decode_signal(std::span<const std::uint8_t> reply);

// "YYYY-MM-DD hh:mm:ss" from 7 BCD bytes, or none when a nibble is above 9 (unset) or the date
// is impossible. Precondition: 7 bytes.
std::optional<std::string> bcd_time(std::span<const std::uint8_t> seven);

// The model an ECU id's prefix names (§1): "ECU-R", "ECU-R-Pro", "ECU-B", "ECU-C", "ECU-3", or "ECU".
std::string ecu_model(std::string_view ecu_id);

// The inverter family a UID prefix names, for display (§5): "YC500", "YC600", "YC1000", "DS3",
// "QS1", "QT2", or "" when unknown.
std::string inverter_family(std::string_view uid);

}  // namespace sunkeep::apsystems
