// The APsystems ECU codec (apsystems-ecu.md §2–§7): the three whitelisted requests, the §3 read
// rule and reply validation, and the 0001, 0002 and 0030 decoders with the record walk of §5.
// Every byte access is bounds-checked; nothing throws on bad input.
#include "protocol/apsystems/codec.hpp"

#include "common/bytes.hpp"
#include "common/hex.hpp"
#include "common/parsed.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace sunkeep::apsystems {

namespace {

// ---- Byte access -------------------------------------------------------------------------------

using Data = std::span<const std::uint8_t>;
using bytes::big_endian;
using bytes::holds;

bool is_digit(std::uint8_t byte) { return byte >= '0' && byte <= '9'; }

// The `count` ASCII digits at `at` as a number; nullopt when they are not all digits or not there.
std::optional<std::size_t> digits_at(Data data, std::size_t at, std::size_t count) {
  if (!holds(data, at, count)) return std::nullopt;
  std::size_t value = 0;
  for (std::uint8_t byte : data.subspan(at, count)) {
    if (!is_digit(byte)) return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(byte - '0');
  }
  return value;
}

// The `count` bytes at `at` as text. Precondition: holds(data, at, count).
std::string text_at(Data data, std::size_t at, std::size_t count) {
  const Data part = data.subspan(at, count);
  return {part.begin(), part.end()};
}

// True when the bytes at `at` are exactly `text`.
bool equals_at(Data data, std::size_t at, std::string_view text) {
  if (!holds(data, at, text.size())) return false;
  const Data part = data.subspan(at, text.size());
  return std::equal(part.begin(), part.end(), text.begin(),
                    [](std::uint8_t byte, char c) { return byte == static_cast<std::uint8_t>(c); });
}

// `value` (below 10 000) as four ASCII digits.
std::string four_digits(std::size_t value) {
  std::string text(4, '0');
  for (auto digit = text.rbegin(); digit != text.rend(); ++digit) {
    *digit = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return text;
}

void add_problem(std::vector<std::string>& problems, std::string problem) {
  if (std::find(problems.begin(), problems.end(), problem) == problems.end()) problems.push_back(std::move(problem));
}

// ---- Framing (§2, §3) --------------------------------------------------------------------------

constexpr std::string_view request_start = "APS11";
constexpr std::string_view reply_start = "APS";
constexpr std::string_view end_mark = "END";
constexpr std::string_view reply_end = "END\n";
constexpr std::size_t ecu_id_size = 12;
constexpr std::size_t at_length = 5;
constexpr std::size_t length_digits = 4;
constexpr std::size_t at_command = 9;
constexpr std::size_t at_status = 13;
constexpr std::size_t status_size = 2;
constexpr std::size_t smallest_reply = at_status + reply_end.size();

// The match status at 13 (§3): two ASCII digits.
Parsed<std::string> match_status(Data reply) {
  if (!digits_at(reply, at_status, status_size)) {
    return Parsed<std::string>::failure("the match status is not two digits");
  }
  return text_at(reply, at_status, status_size);
}

// ---- BCD time and prefix tables (§1, §5, §6) ---------------------------------------------------

constexpr std::size_t bcd_time_size = 7;

// Two decimal digits, one per nibble (§6).
bool is_bcd(std::uint8_t byte) { return (byte >> 4) <= 9 && (byte & 0x0F) <= 9; }
// Precondition: is_bcd(byte).
int bcd_value(std::uint8_t byte) { return (byte >> 4) * 10 + (byte & 0x0F); }
// Precondition: is_bcd(byte).
std::string bcd_text(std::uint8_t byte) {
  return {static_cast<char>('0' + (byte >> 4)), static_cast<char>('0' + (byte & 0x0F))};
}

bool real_date_time(int year, int month, int day, int hour, int minute, int second) {
  if (hour > 23 || minute > 59 || second > 59) return false;
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  return date.ok();
}

struct PrefixName {
  std::string_view prefix;
  std::string_view name;
};

constexpr std::array<PrefixName, 5> ecu_models{{
    {"2160", "ECU-R"}, {"2162", "ECU-R-Pro"}, {"2163", "ECU-B"}, {"2150", "ECU-C"}, {"2030", "ECU-3"}}};
constexpr std::array<PrefixName, 6> inverter_families{{
    {"10", "YC500"}, {"40", "YC600"}, {"50", "YC1000"}, {"70", "DS3"}, {"80", "QS1"}, {"90", "QT2"}}};

std::string name_by_prefix(std::span<const PrefixName> table, std::string_view text, std::string_view otherwise) {
  for (const PrefixName& entry : table) {
    if (text.starts_with(entry.prefix)) return std::string(entry.name);
  }
  return std::string(otherwise);
}

// ---- 0001 (§4) ---------------------------------------------------------------------------------

constexpr std::size_t at_ecu_id = 13;
constexpr std::size_t at_layout = 25;
constexpr std::size_t layout_size = 2;
constexpr std::size_t at_lifetime_energy = 27;
constexpr std::size_t at_current_power = 31;
constexpr std::size_t at_today_energy = 35;
constexpr std::size_t after_totals = 39;
constexpr double lifetime_energy_scale = 10;
constexpr double today_energy_scale = 100;
constexpr std::size_t prefix_length_digits = 3;
constexpr std::size_t mac_size = 6;

// Layout 01.
constexpr std::size_t at_cloud_time = 39;
constexpr std::size_t at_inverters = 46;
constexpr std::size_t at_inverters_online = 48;
constexpr std::size_t at_zigbee_channel = 50;
constexpr std::size_t zigbee_channel_size = 2;
constexpr std::size_t at_firmware_length = 52;

// Layout 02 (unverified, §4 note): no cloud time, channel, time zone or MACs.
constexpr std::size_t at_inverters_02 = 39;
constexpr std::size_t at_inverters_online_02 = 41;
constexpr std::size_t at_firmware_length_02 = 49;

// Text preceded by its length in three ASCII digits, read at `at`, which then moves past it.
Parsed<std::string> prefixed_text(Data reply, std::size_t& at, const std::string& what) {
  const auto length = digits_at(reply, at, prefix_length_digits);
  if (!length) return Parsed<std::string>::failure("the " + what + " length is not three digits");
  if (!holds(reply, at + prefix_length_digits, *length)) {
    return Parsed<std::string>::failure("the " + what + " runs past the end");
  }
  std::string text = text_at(reply, at + prefix_length_digits, *length);
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; })) {
    return Parsed<std::string>::failure("the " + what + " is not printable ASCII");
  }
  at += prefix_length_digits + *length;
  return text;
}

std::array<std::uint8_t, mac_size> mac_at(Data reply, std::size_t at) {
  std::array<std::uint8_t, mac_size> mac{};
  const Data part = reply.subspan(at, mac_size);
  std::copy(part.begin(), part.end(), mac.begin());
  return mac;
}

// The energies and power at 27..38, common to both layouts. Precondition: holds(reply, 0, 39).
void read_totals(Data reply, EcuInfo& info) {
  info.lifetime_energy_kwh = big_endian<std::uint32_t>(reply, at_lifetime_energy) / lifetime_energy_scale;
  info.current_power_w = big_endian<std::uint32_t>(reply, at_current_power);
  info.today_energy_kwh = big_endian<std::uint32_t>(reply, at_today_energy) / today_energy_scale;
}

// The inverter counts at `at` and `at_online`, as sent: more online than registered is a value
// glitch of the firmware (§10), not a framing error. Precondition: both lie inside `reply`.
void read_counts(Data reply, std::size_t at, std::size_t at_online, EcuInfo& info) {
  info.inverters = big_endian<std::uint16_t>(reply, at);
  info.inverters_online = big_endian<std::uint16_t>(reply, at_online);
}

std::variant<EcuInfo, Malformed> decode_layout_01(Data reply, EcuInfo info) {
  if (!holds(reply, 0, at_firmware_length)) return Malformed{"too short for 0001 layout 01"};
  read_totals(reply, info);
  info.last_cloud_connection = bcd_time(reply.subspan(at_cloud_time, bcd_time_size));
  read_counts(reply, at_inverters, at_inverters_online, info);
  if (!digits_at(reply, at_zigbee_channel, zigbee_channel_size)) return Malformed{"the Zigbee channel is not two digits"};
  info.zigbee_channel = text_at(reply, at_zigbee_channel, zigbee_channel_size);
  std::size_t at = at_firmware_length;
  const auto firmware = prefixed_text(reply, at, "firmware");
  if (!firmware) return Malformed{firmware.error()};
  const auto time_zone = prefixed_text(reply, at, "time zone");
  if (!time_zone) return Malformed{time_zone.error()};
  if (reply.size() != at + 2 * mac_size + reply_end.size()) {
    return Malformed{"the length is not 74 + the firmware and time zone lengths"};
  }
  info.firmware = *firmware;
  info.time_zone = *time_zone;
  info.ethernet_mac = mac_at(reply, at);
  info.wifi_mac = mac_at(reply, at + mac_size);
  return info;
}

std::variant<EcuInfo, Malformed> decode_layout_02(Data reply, EcuInfo info) {
  if (!holds(reply, 0, at_firmware_length_02 + prefix_length_digits)) return Malformed{"too short for 0001 layout 02"};
  read_totals(reply, info);
  read_counts(reply, at_inverters_02, at_inverters_online_02, info);
  std::size_t at = at_firmware_length_02;
  const auto firmware = prefixed_text(reply, at, "firmware");
  if (!firmware) return Malformed{firmware.error()};
  if (!holds(reply, at, reply_end.size())) return Malformed{"the firmware runs into END"};
  info.firmware = *firmware;
  return info;
}

// ---- 0002 records (§5) -------------------------------------------------------------------------

constexpr std::size_t at_flag = 15;
constexpr std::size_t flag_size = 2;
constexpr std::size_t at_record_count = 17;
constexpr std::size_t at_poll_time = 19;
constexpr std::size_t at_records = 26;

// Offsets inside a record.
constexpr std::size_t uid_size = 6;
constexpr std::size_t at_state = 6;
constexpr std::size_t at_type = 7;
constexpr std::size_t type_size = 2;
constexpr std::size_t record_header = 9;  // UID, state, type code
constexpr std::size_t at_frequency = 9;
constexpr std::size_t at_temperature = 11;
constexpr std::size_t at_words = 13;
constexpr double frequency_scale = 10;
constexpr int temperature_offset = 100;
constexpr std::uint8_t state_online = 1;

// The words from +13 of a record, in order: 'P' a channel power, 'V' an AC voltage.
constexpr std::string_view two_channels = "PVPV";                // 01, 04
constexpr std::string_view three_phase_four_panels = "PVPVPVP";  // 02
constexpr std::string_view single_phase_four_panels = "PVPPP";   // 03

constexpr std::size_t size_with(std::string_view words) { return at_words + 2 * words.size(); }

// A record's size and the words it carries (none for type 00 and for unknown codes); `known`:
// a type sunkeep reads (00–04, or 05 once its size is decided).
struct Shape {
  std::size_t size = 0;
  std::string_view words;
  bool known = true;
};

constexpr Shape registered_no_data{record_header, {}};
constexpr Shape two_channel_shape{size_with(two_channels), two_channels};
constexpr Shape three_phase_shape{size_with(three_phase_four_panels), three_phase_four_panels};
constexpr Shape single_phase_shape{size_with(single_phase_four_panels), single_phase_four_panels};

// The sizes tried for an unknown type code in mid-reply: 9, 21, 23 and 27.
constexpr std::array<std::size_t, 4> known_sizes{registered_no_data.size, two_channel_shape.size,
                                                 single_phase_shape.size, three_phase_shape.size};

constexpr std::string_view ambiguous_type = "05";

// How type 05 is read: not at all, as 21 bytes (DS3-H, 2 channels, as 01) or as 27 bytes (QT2,
// 4 channels, as 02).
enum class FiveAs { undecided, as_21, as_27 };

// The shape of a known type code, with 05 read as `five`; nullopt for unknown codes and an
// undecided 05.
std::optional<Shape> known_shape(std::string_view code, FiveAs five) {
  if (code == "00") return registered_no_data;
  if (code == "01" || code == "04") return two_channel_shape;
  if (code == "02") return three_phase_shape;
  if (code == "03") return single_phase_shape;
  if (code == ambiguous_type && five == FiveAs::as_21) return two_channel_shape;  // DS3-H: words as 01
  // QT2, 4 channels: words as 02 (P1, V1, P2, V2, P3, V3, P4).
  if (code == ambiguous_type && five == FiveAs::as_27) return three_phase_shape;
  return std::nullopt;
}

// Look-ahead steps (records visited while trying sizes) one walk may spend before it gives up.
// Sizing an unknown record costs about 4 steps, so 400 of them in one reply (an ECU serves a few
// dozen inverters) stay below it; only contrived replies that branch at every record reach it.
constexpr std::size_t look_ahead_budget = 2048;

// What the look-ahead found for (offset, record index) pairs: a fixed open-addressing table,
// allocated once when a walk first looks ahead (a node per entry made fuzzing allocation-bound).
class TilesMemo {
 public:
  std::optional<bool> find(std::size_t at, std::size_t index) const {
    if (slots_.empty()) return std::nullopt;
    const std::uint32_t key = key_of(at, index);
    for (std::size_t i = home(key), probes = 0; probes < slots_.size(); i = (i + 1) % slots_.size(), ++probes) {
      if (slots_[i] == 0) return std::nullopt;
      if ((slots_[i] & key_mask) == key) return (slots_[i] & value_bit) != 0;
    }
    return std::nullopt;
  }

  void remember(std::size_t at, std::size_t index, bool tiles) {
    if (slots_.empty()) slots_.assign(capacity, 0);
    const std::uint32_t key = key_of(at, index);
    for (std::size_t i = home(key), probes = 0; probes < slots_.size(); i = (i + 1) % slots_.size(), ++probes) {
      if (slots_[i] == 0 || (slots_[i] & key_mask) == key) {
        slots_[i] = key | (tiles ? value_bit : 0);
        return;
      }
    }  // full: not remembered, only found again the slow way
  }

 private:
  static constexpr int capacity_bits = 14;
  static constexpr std::size_t capacity = std::size_t{1} << capacity_bits;  // above what a walk's budget inserts
  static constexpr std::uint32_t value_bit = 1u << 31;
  static constexpr std::uint32_t key_mask = value_bit - 1;

  // Offsets and indices stay below 2^14 (a reply is at most 10 000 bytes); 0 marks a free slot.
  static std::uint32_t key_of(std::size_t at, std::size_t index) {
    return static_cast<std::uint32_t>(((at & 0x3FFF) << 14 | (index & 0x3FFF)) + 1);
  }
  // Fibonacci hashing: the top bits of the product mix offset and index alike.
  static std::size_t home(std::uint32_t key) { return (key * 2654435761u) >> (32 - capacity_bits); }

  std::vector<std::uint32_t> slots_;
};

struct Placement {
  std::size_t at = 0;
  Shape shape;
};

struct Walk {
  std::vector<Placement> placed;
  std::vector<std::string> problems;
  // §5 "tiles": the records end exactly at len−4, every state byte is 0 or 1, every type code is
  // two ASCII digits, and nothing stopped the walk.
  bool tiles = true;
  // A 05 came up (in the walk or in a look-ahead) while 05 was undecided.
  bool met_five = false;
};

constexpr std::string_view ragged_end = "the records do not end exactly at END: only whole records decoded";

// One pass over the records of a 0002 reply with one reading of type 05.
class RecordWalk {
 public:
  // Precondition: reply.size() >= at_records + reply_end.size().
  RecordWalk(Data reply, std::uint16_t declared, FiveAs five)
      : reply_(reply), end_(reply.size() - reply_end.size()), declared_(declared), five_(five) {}

  Walk run() {
    Walk walk;
    std::size_t at = at_records;
    for (std::size_t index = 0; at != end_; ++index) {
      if (record_header > end_ - at) {
        fail(walk, ragged_end);
        break;
      }
      check_header(at, walk);
      const auto shape = shape_at(at, index);
      if (!shape || gave_up_) {
        fail(walk, type_at(at) == ambiguous_type
                       ? "type 05 records tile both or neither as 21 and 27 bytes: none decoded"
                       : "an unknown type code whose record size could not be decided: walk stopped there");
        // Its UID and state are still known (§11.4 stores `online` for it); the rest is its raw.
        walk.placed.push_back({at, Shape{end_ - at, {}, false}});
        break;
      }
      if (shape->size > end_ - at) {
        fail(walk, ragged_end);
        break;
      }
      walk.placed.push_back({at, *shape});
      at += shape->size;
    }
    walk.met_five = met_five_;
    if (gave_up_) add_problem(walk.problems, "too many ways to size unknown records: look-ahead gave up");
    return walk;
  }

 private:
  std::string type_at(std::size_t at) const { return text_at(reply_, at + at_type, type_size); }
  std::uint8_t state_at(std::size_t at) const { return reply_[at + at_state]; }
  bool digit_type_at(std::size_t at) const { return digits_at(reply_, at + at_type, type_size).has_value(); }

  static void fail(Walk& walk, std::string_view problem) {
    walk.tiles = false;
    add_problem(walk.problems, std::string(problem));
  }

  // Precondition: the header at `at` lies before end_.
  void check_header(std::size_t at, Walk& walk) const {
    if (state_at(at) > state_online) fail(walk, "a state byte other than 0 or 1: that inverter counts as offline");
    if (!digit_type_at(at)) fail(walk, "a type code that is not two ASCII digits");
  }

  // The header at `at` lies before end_ and has a state of 0 or 1 and a two-digit type code.
  bool sound_header(std::size_t at) const {
    return record_header <= end_ - at && state_at(at) <= state_online && digit_type_at(at);
  }

  // The shape of the record at `at`, the `index`-th; nullopt when its size cannot be decided.
  // Precondition: the header at `at` lies before end_.
  std::optional<Shape> shape_at(std::size_t at, std::size_t index) {
    const std::string code = type_at(at);
    if (auto shape = known_shape(code, five_)) return shape;
    if (undecided_five(code)) return std::nullopt;
    const auto size = unknown_size(at, index);
    if (!size) return std::nullopt;
    return Shape{*size, {}, false};
  }

  // True for a 05 while 05 is undecided, remembering that one came up.
  bool undecided_five(std::string_view code) {
    if (code != ambiguous_type || five_ != FiveAs::undecided) return false;
    met_five_ = true;
    return true;
  }

  bool is_last(std::size_t index) const { return index + 1 == declared_; }

  // Whether an unknown record at `at` that is `size` bytes long leaves a rest that tiles.
  bool fits(std::size_t at, std::size_t index, std::size_t size) {
    return size <= end_ - at && rest_tiles(at + size, index + 1);
  }

  // §5: the last record (by the declared count) takes what remains; any other takes the one size
  // of 9, 21, 23 and 27 with which the rest of the reply still tiles.
  std::optional<std::size_t> unknown_size(std::size_t at, std::size_t index) {
    if (is_last(index)) return end_ - at;
    std::optional<std::size_t> fitting;
    for (std::size_t size : known_sizes) {
      if (!fits(at, index, size)) continue;
      if (fitting) return std::nullopt;
      fitting = size;
    }
    return fitting;
  }

  // Whether some parse of the records from `at`, the `index`-th on, tiles (memoised: unknown
  // records branch over the candidate sizes).
  bool rest_tiles(std::size_t at, std::size_t index) {
    if (const auto known = tiles_memo_.find(at, index)) return *known;
    const bool tiles = walk_tiles(at, index);
    tiles_memo_.remember(at, index, tiles);
    return tiles;
  }

  bool walk_tiles(std::size_t at, std::size_t index) {
    for (; at != end_; ++index) {
      if (steps_left_ == 0) {
        gave_up_ = true;
        return false;
      }
      --steps_left_;
      if (!sound_header(at)) return false;
      const std::string code = type_at(at);
      const auto shape = known_shape(code, five_);
      if (!shape && undecided_five(code)) return false;
      if (!shape) {
        return is_last(index) || std::any_of(known_sizes.begin(), known_sizes.end(),
                                             [&](std::size_t size) { return fits(at, index, size); });
      }
      if (shape->size > end_ - at) return false;
      at += shape->size;
    }
    return true;
  }

  Data reply_;
  std::size_t end_;
  std::size_t declared_;
  FiveAs five_;
  TilesMemo tiles_memo_;
  std::size_t steps_left_ = look_ahead_budget;
  bool met_five_ = false;
  bool gave_up_ = false;
};

// §5: the walk with 05 undecided, unless a 05 came up and exactly one of the two readings of 05
// tiles (one inverter model per installation, inferred).
Walk walk_records(Data reply, std::uint16_t declared) {
  Walk undecided = RecordWalk(reply, declared, FiveAs::undecided).run();
  if (undecided.tiles || !undecided.met_five) return undecided;
  Walk read_as_21 = RecordWalk(reply, declared, FiveAs::as_21).run();
  Walk read_as_27 = RecordWalk(reply, declared, FiveAs::as_27).run();
  if (read_as_21.tiles != read_as_27.tiles) return read_as_21.tiles ? read_as_21 : read_as_27;
  return undecided;
}

// Frequency, temperature and the words of an online record of a known type.
// Precondition: record.size() == size_with(words).
void decode_values(Data record, std::string_view words, InverterRecord& out) {
  out.frequency_hz = big_endian<std::uint16_t>(record, at_frequency) / frequency_scale;
  out.temperature_c = big_endian<std::uint16_t>(record, at_temperature) - temperature_offset;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::uint16_t word = big_endian<std::uint16_t>(record, at_words + 2 * i);
    (words[i] == 'P' ? out.powers_w : out.voltages_v).push_back(word);
  }
  out.decoded = true;
}

InverterRecord record_of(Data reply, const Placement& placed) {
  InverterRecord out;
  if (placed.shape.size < record_header || !holds(reply, placed.at, placed.shape.size)) return out;
  const Data record = reply.subspan(placed.at, placed.shape.size);
  out.uid = to_hex(record.first(uid_size));
  out.state = record[at_state];
  out.type_code = text_at(record, at_type, type_size);
  out.raw.assign(record.begin(), record.end());
  out.readable = placed.shape.known;
  const bool has_values = !placed.shape.words.empty() && placed.shape.size == size_with(placed.shape.words);
  if (out.state == state_online && has_values) decode_values(record, placed.shape.words, out);
  return out;
}

// ---- 0030 (§7) ---------------------------------------------------------------------------------

constexpr std::size_t at_signal_entries = 15;
constexpr std::size_t signal_entry_size = uid_size + 1;

}  // namespace

// ---- Interface ---------------------------------------------------------------------------------

std::string_view command_code(Command command) {
  switch (command) {
    case Command::ecu_info: return "0001";
    case Command::realtime: return "0002";
    case Command::signal: return "0030";
  }
  return {};
}

bool valid_ecu_id(std::string_view id) {
  return id.size() == ecu_id_size &&
         std::all_of(id.begin(), id.end(), [](char c) { return is_digit(static_cast<std::uint8_t>(c)); });
}

std::optional<Bytes> build_request(Command command, std::string_view ecu_id) {
  const std::string_view code = command_code(command);
  if (code.empty()) return std::nullopt;
  std::string tail(code);
  if (command != Command::ecu_info) {
    if (!valid_ecu_id(ecu_id)) return std::nullopt;
    tail += ecu_id;
  }
  tail += end_mark;
  const std::string request =
      std::string(request_start) + four_digits(request_start.size() + length_digits + tail.size()) + tail + "\n";
  return Bytes(request.begin(), request.end());
}

std::optional<std::size_t> announced_size(std::span<const std::uint8_t> head) {
  if (head.size() < length_prefix) return std::nullopt;
  const auto length = digits_at(head, at_length, length_digits);
  if (!length) return std::nullopt;
  return *length + 1;
}

std::optional<std::string> invalid_reply(std::span<const std::uint8_t> reply, Command sent) {
  const std::string_view code = command_code(sent);
  if (code.empty()) return "not a command sunkeep sends";
  if (reply.size() < smallest_reply) return "shorter than the smallest reply (17 bytes)";
  if (!equals_at(reply, 0, reply_start)) return "does not start with APS";
  const auto announced = announced_size(reply);
  if (!announced) return "the length field is not four digits";
  if (*announced != reply.size()) {
    return "the length field announces " + std::to_string(*announced) + " bytes, the reply has " +
           std::to_string(reply.size());
  }
  if (!equals_at(reply, at_command, code)) return "the command echo is not " + std::string(code);
  if (!equals_at(reply, reply.size() - reply_end.size(), reply_end)) return "does not end with END\\n";
  return std::nullopt;
}

std::variant<EcuInfo, Malformed> decode_ecu_info(std::span<const std::uint8_t> reply) {
  if (!holds(reply, 0, after_totals)) return Malformed{"too short for 0001"};
  EcuInfo info;
  info.ecu_id = text_at(reply, at_ecu_id, ecu_id_size);
  if (!valid_ecu_id(info.ecu_id)) return Malformed{"the ECU id is not 12 digits"};
  info.layout = text_at(reply, at_layout, layout_size);
  if (info.layout == "01") return decode_layout_01(reply, std::move(info));
  if (info.layout == "02") return decode_layout_02(reply, std::move(info));
  return Malformed{"unknown 0001 layout flag"};
}

std::variant<Realtime, Malformed> decode_realtime(std::span<const std::uint8_t> reply) {
  const auto status = match_status(reply);
  if (!status) return Malformed{status.error()};
  Realtime realtime;
  realtime.status = *status;
  if (realtime.no_data()) return realtime;
  if (!holds(reply, 0, at_records + reply_end.size())) return Malformed{"too short for the 0002 header"};
  if (!digits_at(reply, at_flag, flag_size)) return Malformed{"the 0002 flag is not two digits"};
  realtime.flag = text_at(reply, at_flag, flag_size);
  realtime.declared_records = big_endian<std::uint16_t>(reply, at_record_count);
  realtime.timestamp = bcd_time(reply.subspan(at_poll_time, bcd_time_size));
  Walk walk = walk_records(reply, realtime.declared_records);
  for (const Placement& placed : walk.placed) realtime.records.push_back(record_of(reply, placed));
  realtime.problems = std::move(walk.problems);
  if (realtime.records.size() != realtime.declared_records) {
    add_problem(realtime.problems, "the record count says " + std::to_string(realtime.declared_records) +
                                       ", the walk found " + std::to_string(realtime.records.size()));
  }
  return realtime;
}

std::variant<Signal, Malformed> decode_signal(std::span<const std::uint8_t> reply) {
  const auto status = match_status(reply);
  if (!status) return Malformed{status.error()};
  Signal signal;
  signal.status = *status;
  if (signal.no_data()) return signal;
  if (!holds(reply, 0, at_signal_entries + reply_end.size())) return Malformed{"too short for 0030"};
  const std::size_t entries_size = reply.size() - at_signal_entries - reply_end.size();
  if (entries_size % signal_entry_size != 0) return Malformed{"the 0030 entries are not whole 7-byte entries"};
  for (std::size_t at = at_signal_entries; at < at_signal_entries + entries_size; at += signal_entry_size) {
    signal.levels.push_back({to_hex(reply.subspan(at, uid_size)), reply[at + uid_size]});
  }
  return signal;
}

std::optional<std::string> bcd_time(std::span<const std::uint8_t> seven) {
  if (seven.size() != bcd_time_size || !std::all_of(seven.begin(), seven.end(), is_bcd)) return std::nullopt;
  const int year = bcd_value(seven[0]) * 100 + bcd_value(seven[1]);
  if (!real_date_time(year, bcd_value(seven[2]), bcd_value(seven[3]), bcd_value(seven[4]), bcd_value(seven[5]),
                      bcd_value(seven[6]))) {
    return std::nullopt;
  }
  return bcd_text(seven[0]) + bcd_text(seven[1]) + "-" + bcd_text(seven[2]) + "-" + bcd_text(seven[3]) + " " +
         bcd_text(seven[4]) + ":" + bcd_text(seven[5]) + ":" + bcd_text(seven[6]);
}

std::string ecu_model(std::string_view ecu_id) { return name_by_prefix(ecu_models, ecu_id, "ECU"); }

std::string inverter_family(std::string_view uid) { return name_by_prefix(inverter_families, uid, ""); }

}  // namespace sunkeep::apsystems
