// The SMA Speedwire codec against the captured datagrams and the fixture index of
// sma-speedwire.md §11: tag walk, 0x6065 headers, reply acceptance, records and their NaN markers,
// status lists, the version word, Energy Meter / Home Manager datagrams, the request builders byte
// for byte, password encoding and zeroing, the §9.6 whitelist over every register range, and
// truncated or damaged input.
#include "protocol/sma/meter.hpp"
#include "protocol/sma/packet.hpp"
#include "protocol/sma/records.hpp"
#include "protocol/sma/requests.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <compare>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::sma;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes datagram(const std::string& name) {
  const std::string raw = test::fixture("sma/" + name);
  return {raw.begin(), raw.end()};
}

// Every .bin of the fixture index.
const std::vector<std::string>& all_fixtures() {
  static const std::vector<std::string> names{
      "emeter_6069_mlasch_pkt0.bin",
      "emeter_6069_mlasch_pkt1.bin",
      "emeter_6069_mlasch_pkt5255.bin",
      "emeter_6069_mlasch_pkt9918.bin",
      "fhem_battery_charge_query_req.bin",
      "fhem_battery_charge_query_resp.bin",
      "lsw_login_req.bin",
      "lsw_login_resp_invalid_password.bin",
      "lsw_login_resp_ok.bin",
      "lsw_logoff_req_0e01.bin",
      "lsw_logoff_req_e001.bin",
      "lsw_query_device_status_req.bin",
      "lsw_query_device_status_resp.bin",
      "lsw_query_devicetype_req.bin",
      "lsw_query_devicetype_resp.bin",
      "lsw_query_grid_relay_req.bin",
      "lsw_query_grid_relay_resp.bin",
      "lsw_query_spot_ac_power_req.bin",
      "lsw_query_spot_ac_power_resp.bin",
      "lsw_query_spot_ac_volt_amp_req.bin",
      "lsw_query_spot_ac_volt_amp_resp.bin",
      "lsw_query_spot_dc_power_req.bin",
      "lsw_query_spot_dc_power_resp.bin",
      "lsw_query_spot_dc_volt_amp_req.bin",
      "lsw_query_spot_dc_volt_amp_resp.bin",
      "lsw_query_swversion_req.bin",
      "lsw_query_swversion_resp.bin",
      "lsw_unicast_discovery_req.bin",
      "lsw_unicast_discovery_resp.bin",
      "sbfspot541_discovery_req_multicast.bin",
      "sbfspot541_discovery_resp_192.168.0.106.bin",
      "sbfspot541_discovery_resp_192.168.0.109.bin",
      "sbfspot618_energy_query_req.bin",
      "sbfspot618_energy_query_resp.bin",
      "sbfspot745_login_req_pw0000.bin",
      "shm2_6081_danieltwagner_first.bin",
      "shm2_6081_danieltwagner_last.bin",
  };
  return names;
}

// The lsw inverter and client of the fixture index.
constexpr Address lsw_inverter{378, 3010538116};
constexpr Address lsw_client{125, 975748674};
constexpr Address lsw_identify_client{125, 975748690};

InverterPacket packet(const Bytes& bytes) {
  const auto parsed = parse_inverter_packet(bytes);
  REQUIRE_MESSAGE(parsed, parsed.error());
  return *parsed;
}

std::vector<Record> records(const Bytes& bytes) {
  const auto parsed = decode_records(packet(bytes));
  REQUIRE_MESSAGE(parsed, parsed.error());
  return *parsed;
}

void check_record(const Record& r, std::uint16_t lri, std::uint8_t record_class, std::uint8_t type, std::size_t size) {
  CHECK(r.lri == lri);
  CHECK(r.record_class == record_class);
  CHECK(r.type == type);
  CHECK(r.size == size);
}

// A (command, first, last) triple of a 0x6065 read.
struct Triple {
  std::uint32_t command;
  std::uint32_t first;
  std::uint32_t last;
  friend auto operator<=>(const Triple&, const Triple&) = default;
};

// sma-speedwire.md §6, the rows marked S, C or O, written out here independently of the codec's
// table; then identify (§5).
const std::vector<Triple>& spec_query_rows() {
  static const std::vector<Triple> rows{
      {0x58000200, 0x00823400, 0x008234FF}, {0x58000200, 0x00821E00, 0x008220FF}, {0x54000200, 0x00260100, 0x002622FF},
      {0x54000200, 0x00462E00, 0x00462FFF}, {0x53800200, 0x00251E00, 0x00251EFF}, {0x53800200, 0x00451E00, 0x00451EFF},
      {0x53800200, 0x00451F00, 0x004521FF}, {0x51000200, 0x00263F00, 0x00263FFF}, {0x51000200, 0x00464000, 0x004642FF},
      {0x51000200, 0x00464800, 0x004655FF}, {0x51000200, 0x00465700, 0x004657FF}, {0x52000200, 0x00237700, 0x002377FF},
      {0x51800200, 0x00214800, 0x002148FF}, {0x51800200, 0x00416400, 0x004164FF}, {0x51000200, 0x00295A00, 0x00295AFF},
      {0x51000200, 0x00491E00, 0x00495DFF}, {0x51000200, 0x00463600, 0x004637FF},
  };
  return rows;
}

const std::set<Triple>& allowed_reads() {
  static const std::set<Triple> allowed = [] {
    std::set<Triple> out(spec_query_rows().begin(), spec_query_rows().end());
    out.insert({0x00000200, 0, 0});
    return out;
  }();
  return allowed;
}

// Every command word of §6 (the never-sent ones too), identify, login and logoff, and their replies.
std::vector<std::uint32_t> known_command_words() {
  return {0x58000200, 0x54000200, 0x53800200, 0x51000200, 0x52000200, 0x51800200, 0x70000200, 0x70200200,
          0x70100200, 0x70120200, 0xFFF50200, 0x00000200, 0xFFFD040C, 0xFFFD040D, 0xFFFD010E, 0xFFFD01E0};
}

// The known words, each with its low byte changed twice, and 64 words from a fixed seed.
std::vector<std::uint32_t> command_words_to_try() {
  std::vector<std::uint32_t> words = known_command_words();
  for (std::uint32_t word : known_command_words()) {
    words.push_back((word & 0xFFFFFF00) | 0x01);
    words.push_back((word & 0xFFFFFF00) | ((word & 0xFF) ^ 0x80));
  }
  std::mt19937 random(9522);
  for (int i = 0; i < 64; ++i) words.push_back(static_cast<std::uint32_t>(random()));
  return words;
}

bool allowed_command(const InverterPacket& p) {
  if (p.command == command_login || p.command == command_logoff) return true;
  return p.last && allowed_reads().contains({p.command, p.first, *p.last});
}

void put_le32(Bytes& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_le64(Bytes& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_be(Bytes& out, std::uint64_t value, int size) {
  for (int i = size - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

// A 16-byte counter record.
Bytes counter_record(std::uint32_t code, std::uint64_t value) {
  Bytes out;
  put_le32(out, code);
  put_le32(out, 1700000000);
  put_le64(out, value);
  return out;
}

// A 28-byte spot record whose words at +8, +12 and +20 differ from the one at +16.
Bytes spot_record(std::uint32_t code, std::uint32_t value) {
  Bytes out;
  put_le32(out, code);
  put_le32(out, 1700000000);
  for (std::uint32_t word : {111u, 222u, value, 333u, 1u}) put_le32(out, word);
  return out;
}

Bytes joined(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

InverterPacket reply_with(std::uint32_t first, std::optional<std::uint32_t> last, const Bytes& body) {
  InverterPacket p;
  p.command = 0x51000201;
  p.first = first;
  p.last = last;
  p.body = body;
  return p;
}

// How many records decode_records() finds, nullopt when it refuses the reply.
std::optional<std::size_t> count_of(const InverterPacket& reply) {
  const auto decoded = decode_records(reply);
  if (!decoded) return std::nullopt;
  return decoded->size();
}

// A meter datagram of `protocol` from SUSy-ID 349 / serial 1234 with `items` (ids and values, BE).
Bytes meter_datagram(std::uint16_t protocol, const Bytes& items) {
  Bytes body;
  put_be(body, protocol, 2);
  if (protocol == protocol_meter_extended) put_be(body, 3, 2);
  put_be(body, 349, 2);
  put_be(body, 1234, 4);
  put_be(body, 5678, 4);
  body.insert(body.end(), items.begin(), items.end());
  Bytes out{'S', 'M', 'A', 0, 0x00, 0x04, 0x02, 0xA0, 0, 0, 0, 1};
  put_be(out, body.size(), 2);
  put_be(out, tag_data2, 2);
  out.insert(out.end(), body.begin(), body.end());
  put_be(out, 0, 4);
  return out;
}

Bytes obis(std::uint8_t c, std::uint8_t d, std::uint64_t value, std::uint8_t b = 0) {
  Bytes out{b, c, d, 0};
  put_be(out, value, d);
  return out;
}

MeterDatagram meter(const Bytes& bytes) {
  const auto parsed = decode_meter(bytes);
  REQUIRE_MESSAGE(parsed, parsed.error());
  return *parsed;
}

std::uint64_t current(const MeterDatagram& m, std::uint8_t index) {
  const auto value = current_value(m, index);
  REQUIRE_MESSAGE(value, "no current value C", int{index});
  return *value;
}

std::uint64_t counter(const MeterDatagram& m, std::uint8_t index) {
  const auto value = counter_value(m, index);
  REQUIRE_MESSAGE(value, "no counter C", int{index});
  return *value;
}

// (C_import − C_export) ÷ 10: a signed power in W from two 0.1 W channels.
double net_power(const MeterDatagram& m, std::uint8_t import_index, std::uint8_t export_index) {
  return (static_cast<double>(current(m, import_index)) - static_cast<double>(current(m, export_index))) / 10;
}

double kwh(std::uint64_t watt_seconds) { return static_cast<double>(watt_seconds) / 3600000; }
double thousandths(std::uint64_t value) { return static_cast<double>(value) / 1000; }

// Every decoding surface of the codec on `bytes`; nothing may crash or read past the end.
void decode_everything(std::span<const std::uint8_t> bytes) {
  (void)walk_tags(bytes);
  (void)protocol_of(bytes);
  (void)discovery_reply_address(bytes);
  if (const auto p = parse_inverter_packet(bytes)) {
    (void)answers(*p, {p->packet_id, p->command - 1, p->source});
    if (const auto decoded = decode_records(*p)) {
      for (const Record& r : *decoded) {
        (void)selected_status(r);
        if (r.version_word) (void)version_text(*r.version_word);
      }
    }
  }
  if (const auto m = decode_meter(bytes)) {
    for (std::uint8_t index : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{14}, std::uint8_t{255}}) {
      (void)current_value(*m, index);
      (void)counter_value(*m, index);
    }
  }
  Bytes copy(bytes.begin(), bytes.end());
  (void)zero_password(copy);
}

}  // namespace

TEST_CASE("sma codec: the tag walk of the multicast discovery request and replies") {
  for (const auto& [name, last_octet, tag_0040] : {std::tuple{"sbfspot541_discovery_resp_192.168.0.106.bin", 106, 0},
                                                   std::tuple{"sbfspot541_discovery_resp_192.168.0.109.bin", 109, 1}}) {
    CAPTURE(name);
    const Bytes bytes = datagram(name);
    REQUIRE(bytes.size() == 60);
    const auto tags = walk_tags(bytes);
    REQUIRE_MESSAGE(tags, tags.error());
    std::vector<std::uint16_t> ids;
    for (const Tag& tag : *tags) ids.push_back(tag.id);
    CHECK(ids == std::vector<std::uint16_t>{0x02A0, 0x0000, 0x0010, 0x0020, 0x0030, 0x0040, 0x0070});
    const Tag& ipv4 = (*tags)[4];
    CHECK(ipv4.value.data() == bytes.data() + 38);
    const auto address = discovery_reply_address(bytes);
    REQUIRE(address);
    CHECK(*address == std::array<std::uint8_t, 4>{192, 168, 0, static_cast<std::uint8_t>(last_octet)});
    const Tag& t40 = (*tags)[5];
    REQUIRE(t40.value.size() == 4);
    CHECK(t40.value[3] == tag_0040);
    CHECK(Bytes(t40.value.begin(), t40.value.begin() + 3) == Bytes{0, 0, 0});
    CHECK((*tags)[6].value.size() == 2);
    CHECK(Bytes((*tags)[6].value.begin(), (*tags)[6].value.end()) == Bytes{0xEF, 0x0C});
    CHECK_FALSE(protocol_of(bytes));
    CHECK_FALSE(parse_inverter_packet(bytes));
    CHECK_FALSE(decode_meter(bytes));
  }

  const Bytes request = datagram("sbfspot541_discovery_req_multicast.bin");
  const auto tags = walk_tags(request);
  REQUIRE(tags);
  REQUIRE(tags->size() == 2);
  CHECK((*tags)[0].id == 0x02A0);
  CHECK((*tags)[1].id == tag_discovery);
  CHECK((*tags)[1].value.empty());
  CHECK_FALSE(discovery_reply_address(request));
  CHECK_FALSE(protocol_of(request));
}

TEST_CASE("sma codec: the tag walk of an inverter datagram and broken tag chains") {
  const Bytes bytes = datagram("lsw_query_swversion_resp.bin");
  const auto tags = walk_tags(bytes);
  REQUIRE(tags);
  REQUIRE(tags->size() == 2);
  CHECK((*tags)[1].id == tag_data2);
  CHECK((*tags)[1].value.size() == 0x4E);
  CHECK_FALSE(discovery_reply_address(bytes));

  Bytes no_signature = bytes;
  no_signature[3] = '!';
  CHECK_FALSE(walk_tags(no_signature));
  CHECK_FALSE(protocol_of(no_signature));
  Bytes too_long = bytes;
  too_long[12] = 0x01;  // n = 0x014E: the data2 tag runs past the end
  CHECK_FALSE(walk_tags(too_long));
  CHECK_FALSE(protocol_of(too_long));
  const Bytes no_end_tag(bytes.begin(), bytes.end() - 4);
  CHECK_FALSE(walk_tags(no_end_tag));
  CHECK_FALSE(protocol_of(no_end_tag));
  CHECK_FALSE(walk_tags(Bytes{}));
  CHECK_FALSE(walk_tags(Bytes{'S', 'M', 'A', 0}));
  CHECK(walk_tags(Bytes{'S', 'M', 'A', 0, 0, 0, 0, 0}));
}

TEST_CASE("sma codec: protocol_of every captured datagram") {
  for (const std::string& name : all_fixtures()) {
    CAPTURE(name);
    const Bytes bytes = datagram(name);
    std::optional<std::uint16_t> expected = protocol_inverter;
    if (name.starts_with("emeter_6069")) expected = protocol_meter;
    if (name.starts_with("shm2_6081")) expected = protocol_meter_extended;
    if (name.starts_with("sbfspot541_discovery")) expected = std::nullopt;
    CHECK(protocol_of(bytes) == expected);
    if (expected) CHECK(bytes.size() == (std::size_t{bytes[12]} << 8 | bytes[13]) + 20);
  }
}

TEST_CASE("sma codec: login request and replies parse to the fixture index's header fields") {
  const Bytes request = datagram("lsw_login_req.bin");
  const InverterPacket login = packet(request);
  CHECK(request.size() == 78);
  CHECK(login.long_words == 0x0E);
  CHECK(login.ctrl == 0xA0);
  CHECK(login.destination == lsw_inverter);
  CHECK(login.destination_ctrl == 0x0100);
  CHECK(login.source == lsw_client);
  CHECK(login.source_ctrl == 0x0100);
  CHECK(login.error == 0);
  CHECK(login.fragment == 0);
  CHECK(login.packet_id == 0x8002);
  CHECK(login.command == command_login);
  CHECK(login.first == 7);
  CHECK(login.last == 900u);
  REQUIRE(login.body.size() == 20);
  CHECK(Bytes(login.body.begin(), login.body.begin() + 4) == Bytes{0x00, 0xD8, 0xE8, 0x5F});
  CHECK(Bytes(login.body.begin() + 8, login.body.end()) ==
        Bytes{0xC1, 0xC1, 0xC1, 0xC1, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88});

  const InverterPacket ok = packet(datagram("lsw_login_resp_ok.bin"));
  CHECK(ok.command == command_login_reply);
  CHECK(ok.error == 0);
  CHECK(ok.packet_id == 0x8002);
  CHECK(ok.long_words == 0x0B);
  CHECK(ok.ctrl == 0xE0);
  CHECK(ok.source == lsw_inverter);
  CHECK(ok.destination == lsw_client);
  CHECK(ok.first == 7);
  CHECK(ok.last == 900u);
  CHECK(answers(ok, {0x8002, command_login, lsw_inverter}));

  const InverterPacket refused = packet(datagram("lsw_login_resp_invalid_password.bin"));
  CHECK(refused.command == command_login_reply);
  CHECK(refused.error == error_bad_password);
  CHECK(answers(refused, {0x8002, command_login, lsw_inverter}));

  const InverterPacket sbfspot = packet(datagram("sbfspot745_login_req_pw0000.bin"));
  CHECK(sbfspot.destination == Address{461, 3022930449});
  CHECK(sbfspot.source == Address{125, 917426243});
  CHECK(sbfspot.packet_id == 0x8003);
  CHECK(sbfspot.command == command_login);
}

TEST_CASE("sma codec: logoff, identify and query requests parse") {
  const InverterPacket logoff = packet(datagram("lsw_logoff_req_0e01.bin"));
  CHECK(logoff.long_words == 8);
  CHECK(logoff.ctrl == 0xA0);
  CHECK(logoff.destination == any_device);
  CHECK(logoff.destination_ctrl == 0x0300);
  CHECK(logoff.source == lsw_identify_client);
  CHECK(logoff.source_ctrl == 0x0300);
  CHECK(logoff.packet_id == 0x8002);
  CHECK(logoff.command == command_logoff);
  CHECK(logoff.first == 0xFFFFFFFF);
  CHECK_FALSE(logoff.last);
  CHECK(logoff.body.empty());

  const InverterPacket variant = packet(datagram("lsw_logoff_req_e001.bin"));
  CHECK(variant.command == 0xFFFD01E0);
  CHECK(variant.packet_id == 0x8001);
  CHECK(variant.source == lsw_client);
  CHECK_FALSE(variant.last);

  const InverterPacket identify = packet(datagram("lsw_unicast_discovery_req.bin"));
  CHECK(identify.destination == any_device);
  CHECK(identify.destination_ctrl == 0);
  CHECK(identify.source == lsw_identify_client);
  CHECK(identify.packet_id == 0x8001);
  CHECK(identify.command == command_identify);
  CHECK(identify.first == 0);
  CHECK(identify.last == 0u);
  CHECK(identify.body.empty());

  const InverterPacket energy = packet(datagram("sbfspot618_energy_query_req.bin"));
  CHECK(energy.long_words == 9);
  CHECK(energy.destination == Address{138, 2130306449});
  CHECK(energy.source == Address{125, 968619825});
  CHECK(energy.destination_ctrl == 0);
  CHECK(energy.packet_id == 0x800A);
  CHECK(energy.command == 0x54000200);
  CHECK(energy.first == 0x00260100);
  CHECK(energy.last == 0x002622FFu);
}

TEST_CASE("sma codec: the identify reply names the device") {
  const Bytes bytes = datagram("lsw_unicast_discovery_resp.bin");
  const InverterPacket reply = packet(bytes);
  CHECK(reply.command == 0x00000201);
  CHECK(reply.source == lsw_inverter);
  CHECK("sma:" + std::to_string(reply.source.serial) == "sma:3010538116");
  CHECK(reply.destination == lsw_identify_client);
  CHECK(reply.packet_id == 0x8001);
  CHECK(answers(reply, {0x8001, command_identify, std::nullopt}));
  const auto decoded = records(bytes);
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0].size == 40);
  CHECK(decoded[0].lri == 0x0003);
  CHECK_FALSE(decoded[0].number);
  CHECK(decoded[0].text.empty());
  CHECK(decoded[0].statuses.empty());
}

TEST_CASE("sma codec: 16-byte counter records of the energy reply") {
  const Bytes bytes = datagram("sbfspot618_energy_query_resp.bin");
  const InverterPacket reply = packet(bytes);
  CHECK(reply.ctrl == 0x90);
  CHECK(reply.packet_id == 0x800A);
  CHECK(reply.command == 0x54000201);
  CHECK(reply.source == Address{138, 2130306449});
  CHECK(answers(reply, {0x800A, 0x54000200, Address{138, 2130306449}}));
  const auto decoded = records(bytes);
  REQUIRE(decoded.size() == 2);
  check_record(decoded[0], 0x2601, 1, type_unsigned, 16);
  CHECK(decoded[0].time == 1713206656);  // 2024-04-15T18:44:16Z
  CHECK(decoded[0].number == 33304161);  // Wh: 33304.161 kWh
  check_record(decoded[1], 0x2622, 1, type_unsigned, 16);
  CHECK(decoded[1].time == 1713209030);  // 2024-04-15T19:23:50Z
  CHECK(decoded[1].number == 6391);      // 6.391 kWh
}

TEST_CASE("sma codec: 28-byte spot records of the DC and AC replies") {
  SUBCASE("DC power per MPPT") {
    const auto decoded = records(datagram("lsw_query_spot_dc_power_resp.bin"));
    REQUIRE(decoded.size() == 2);
    check_record(decoded[0], 0x251E, 1, type_signed, 28);
    check_record(decoded[1], 0x251E, 2, type_signed, 28);
    CHECK(decoded[0].number == 87);
    CHECK(decoded[1].number == 94);
    CHECK(*decoded[0].number + *decoded[1].number == 181);
  }
  SUBCASE("DC voltage and current: 2 registers by 2 classes") {
    const auto decoded = records(datagram("lsw_query_spot_dc_volt_amp_resp.bin"));
    REQUIRE(decoded.size() == 4);
    check_record(decoded[0], 0x451F, 1, type_signed, 28);
    check_record(decoded[1], 0x451F, 2, type_signed, 28);
    check_record(decoded[2], 0x4521, 1, type_signed, 28);
    check_record(decoded[3], 0x4521, 2, type_signed, 28);
    CHECK(decoded[0].number == 24837);  // 248.37 V
    CHECK(decoded[1].number == 23376);  // 233.76 V
    CHECK(decoded[2].number == 352);    // 0.352 A
    CHECK(decoded[3].number == 405);    // 0.405 A
  }
  SUBCASE("AC power per phase, signed type, reply first/last 9/11") {
    const Bytes bytes = datagram("lsw_query_spot_ac_power_resp.bin");
    const InverterPacket reply = packet(bytes);
    CHECK(reply.first == 9);
    CHECK(reply.last == 11u);
    const auto decoded = records(bytes);
    REQUIRE(decoded.size() == 3);
    std::int64_t sum = 0;
    const std::int64_t watts[] = {56, 55, 57};
    for (std::size_t i = 0; i < 3; ++i) {
      check_record(decoded[i], static_cast<std::uint16_t>(0x4640 + i), 1, type_signed, 28);
      CHECK(decoded[i].number == watts[i]);
      sum += decoded[i].number.value_or(0);
    }
    CHECK(sum == 168);
  }
  SUBCASE("AC voltage and current: 10 records of mixed types") {
    const auto decoded = records(datagram("lsw_query_spot_ac_volt_amp_resp.bin"));
    REQUIRE(decoded.size() == 10);
    const std::uint16_t lris[] = {0x4648, 0x4649, 0x464A, 0x464B, 0x464C, 0x464D, 0x464E, 0x4653, 0x4654, 0x4655};
    const std::int64_t raw[] = {22874, 22991, 22906, 39665, 39740, 39704, 29, 292, 286, 291};
    for (std::size_t i = 0; i < 10; ++i) {
      CAPTURE(i);
      check_record(decoded[i], lris[i], 1, i < 7 ? type_unsigned : type_signed, 28);
      CHECK(decoded[i].number == raw[i]);
    }
  }
}

TEST_CASE("sma codec: status lists of device status and grid relay") {
  const auto status = records(datagram("lsw_query_device_status_resp.bin"));
  REQUIRE(status.size() == 1);
  check_record(status[0], 0x2148, 1, type_status, 40);
  CHECK(status[0].statuses == std::vector<StatusEntry>{{307, true}});
  CHECK(selected_status(status[0]) == 307u);
  CHECK_FALSE(status[0].number);

  const Bytes relay_bytes = datagram("lsw_query_grid_relay_resp.bin");
  CHECK(packet(relay_bytes).first == 7);
  CHECK(packet(relay_bytes).last == 7u);
  const auto relay = records(relay_bytes);
  REQUIRE(relay.size() == 1);
  check_record(relay[0], 0x4164, 1, type_status, 40);
  CHECK(relay[0].statuses == std::vector<StatusEntry>{{51, true}, {311, false}, {0x00FFFFFD, false}});
  CHECK(selected_status(relay[0]) == 51u);

  Record none;
  none.statuses = {{311, false}, {0x00FFFFFD, true}};
  CHECK_FALSE(selected_status(none));
  none.statuses = {{51, false}, {311, false}};
  CHECK_FALSE(selected_status(none));
  CHECK_FALSE(selected_status(Record{}));
}

TEST_CASE("sma codec: the type label reply - name string, device class and model") {
  const auto decoded = records(datagram("lsw_query_devicetype_resp.bin"));
  REQUIRE(decoded.size() == 3);
  check_record(decoded[0], 0x821E, 1, type_string, 40);
  CHECK(decoded[0].text == "SN: 3010538116");
  CHECK(decoded[0].statuses.empty());
  check_record(decoded[1], 0x821F, 1, type_status, 40);
  CHECK(selected_status(decoded[1]) == 8001u);
  check_record(decoded[2], 0x8220, 1, type_status, 40);
  CHECK(decoded[2].statuses == std::vector<StatusEntry>{{9366, false}, {9344, false}, {9345, true}, {9346, false}});
  CHECK(selected_status(decoded[2]) == 9345u);
}

TEST_CASE("sma codec: the software version word and its text") {
  const auto decoded = records(datagram("lsw_query_swversion_resp.bin"));
  REQUIRE(decoded.size() == 1);
  check_record(decoded[0], lri_firmware, 1, type_unsigned, 40);
  REQUIRE(decoded[0].version_word);
  CHECK(*decoded[0].version_word == 0x03100A04);
  CHECK(version_text(*decoded[0].version_word) == "03.10.10.R");
  CHECK(version_text(0x02110504) == "02.11.05.R");
  CHECK(version_text(0x01000000) == "01.00.00.N");
  CHECK(version_text(0x01020305) == "01.02.03.S");
  CHECK(version_text(0x010203FF) == "01.02.03.255");
}

TEST_CASE("sma codec: the battery reply with the register id as first and last") {
  const Bytes bytes = datagram("fhem_battery_charge_query_resp.bin");
  const InverterPacket reply = packet(bytes);
  CHECK(reply.source.susy_id == 332);
  CHECK(reply.first == 0x00295A00);
  CHECK(reply.last == 0x00295A00u);
  CHECK(reply.command == 0x51000201);
  CHECK(reply.packet_id == 0x8007);
  const auto decoded = records(bytes);
  REQUIRE(decoded.size() == 1);
  check_record(decoded[0], 0x295A, 7, type_unsigned, 28);
  CHECK(decoded[0].number == 97);
}

TEST_CASE("sma codec: NaN markers decode to no value") {
  SUBCASE("64-bit counters") {
    const Bytes body = joined({counter_record(0x00260101, 0x8000000000000000), counter_record(0x00260101, ~0ull),
                               counter_record(0x00260101, 0x9000000000000001), counter_record(0x00260101, 12345),
                               counter_record(0x00260101, 0x7FFFFFFFFFFFFFFF), counter_record(0x40260101, 0)});
    const auto decoded = decode_records(reply_with(0, 5, body));
    REQUIRE(decoded);
    REQUIRE(decoded->size() == 6);
    CHECK_FALSE((*decoded)[0].number);
    CHECK_FALSE((*decoded)[1].number);
    CHECK_FALSE((*decoded)[2].number);
    CHECK((*decoded)[3].number == 12345);
    CHECK((*decoded)[4].number == 0x7FFFFFFFFFFFFFFF);
    CHECK((*decoded)[5].number == 0);
  }
  SUBCASE("32-bit spot values of either type") {
    for (std::uint32_t type : {0x00u, 0x40u}) {
      CAPTURE(type);
      const std::uint32_t code = type << 24 | 0x00263F01;
      const Bytes body =
          joined({spot_record(code, 0x80000000), spot_record(code, 0xFFFFFFFF), spot_record(code, 0xFFFFFFFE),
                  spot_record(code, 0xFFFFFFFB), spot_record(code, 0x7FFFFFFF)});
      const auto decoded = decode_records(reply_with(0, 4, body));
      REQUIRE(decoded);
      REQUIRE(decoded->size() == 5);
      CHECK_FALSE((*decoded)[0].number);
      CHECK_FALSE((*decoded)[1].number);
      CHECK_FALSE((*decoded)[2].number);
      CHECK((*decoded)[3].number == (type == 0x40 ? -5 : 4294967291));
      CHECK((*decoded)[4].number == 0x7FFFFFFF);
    }
  }
}

TEST_CASE("sma codec: record layouts that do not fit are refused") {
  const Bytes two_counters = joined({counter_record(0x00260101, 1), counter_record(0x00262201, 2)});
  CHECK(decode_records(reply_with(0, 1, two_counters)));
  CHECK_FALSE(decode_records(reply_with(5, 5, two_counters)));           // one record of 32 bytes
  CHECK_FALSE(decode_records(reply_with(2, 1, two_counters)));           // last before first
  CHECK_FALSE(decode_records(reply_with(0, 2, two_counters)));           // 32 bytes in 3 records
  CHECK_FALSE(decode_records(reply_with(0, 0xFFFFFFFF, two_counters)));  // absurd count
  CHECK_FALSE(decode_records(reply_with(0, std::nullopt, two_counters)));
  CHECK_FALSE(decode_records(reply_with(0, 0, Bytes(20, 0))));  // size 20
  CHECK_FALSE(decode_records(reply_with(0, 0, Bytes(8, 0))));   // less than one record
  CHECK(count_of(reply_with(0, 0, Bytes(40, 0))) == 1u);
  CHECK(count_of(reply_with(0, 1, Bytes(80, 0))) == 2u);
  CHECK(count_of(reply_with(0, 2, Bytes(84, 0))) == 3u);
  // A reply without records decodes to none, whatever first and last say.
  CHECK(count_of(reply_with(0, std::nullopt, {})) == 0u);
  CHECK(count_of(reply_with(7, 3, {})) == 0u);
  CHECK(count_of(packet(datagram("lsw_query_swversion_req.bin"))) == 0u);
}

TEST_CASE("sma codec: requests reproduce the captured datagrams byte for byte") {
  SUBCASE("login") {
    const auto lsw_password = encode_password("9999", UserGroup::user);
    REQUIRE(lsw_password);
    const RequestHeader lsw{lsw_inverter, lsw_client.serial, 0x0100, 0x8002};
    CHECK(build_login(lsw, UserGroup::user, *lsw_password, 0x5FE8D800) == datagram("lsw_login_req.bin"));
    const RequestHeader without_bit_15{lsw_inverter, lsw_client.serial, 0x0000, 0x0002};
    CHECK(build_login(without_bit_15, UserGroup::user, *lsw_password, 0x5FE8D800) == datagram("lsw_login_req.bin"));

    const auto zeros = encode_password("0000", UserGroup::user);
    REQUIRE(zeros);
    const RequestHeader sbfspot{{461, 3022930449}, 917426243, 0x0100, 0x8003};
    CHECK(build_login(sbfspot, UserGroup::user, *zeros, 0x6A888A7D) == datagram("sbfspot745_login_req_pw0000.bin"));
  }
  SUBCASE("logoff") {
    CHECK(build_logoff(lsw_identify_client.serial, 0x8002) == datagram("lsw_logoff_req_0e01.bin"));
    CHECK(build_logoff(lsw_identify_client.serial, 0x0002) == datagram("lsw_logoff_req_0e01.bin"));
  }
  SUBCASE("multicast discovery") { CHECK(build_discovery() == datagram("sbfspot541_discovery_req_multicast.bin")); }
  SUBCASE("identify") {
    const RequestHeader header{any_device, lsw_identify_client.serial, 0x0000, 0x8001};
    CHECK(build_identify(header) == datagram("lsw_unicast_discovery_req.bin"));
    CHECK(build_read(header, command_identify, 0, 0) == datagram("lsw_unicast_discovery_req.bin"));
  }
  SUBCASE("the lsw queries with ctrl word 0x0100") {
    const std::tuple<const char*, Query, std::uint16_t> cases[] = {
        {"lsw_query_swversion_req.bin", Query::software_version, 0x8003},
        {"lsw_query_devicetype_req.bin", Query::type_label, 0x8004},
        {"lsw_query_spot_dc_power_req.bin", Query::dc_power, 0x8004},
        {"lsw_query_spot_dc_volt_amp_req.bin", Query::dc_volt_amp, 0x8005},
        {"lsw_query_spot_ac_power_req.bin", Query::ac_power_phases, 0x8006},
        {"lsw_query_spot_ac_volt_amp_req.bin", Query::ac_volt_amp, 0x8007},
        {"lsw_query_device_status_req.bin", Query::device_status, 0x8009},
        {"lsw_query_grid_relay_req.bin", Query::grid_relay, 0x800A},
    };
    for (const auto& [name, query, packet_id] : cases) {
      CAPTURE(name);
      const RequestHeader header{lsw_inverter, lsw_client.serial, 0x0100, packet_id};
      CHECK(build_query(header, query) == datagram(name));
    }
  }
  SUBCASE("the energy query with ctrl word 0x0000") {
    const RequestHeader header{{138, 2130306449}, 968619825, 0x0000, 0x800A};
    CHECK(build_query(header, Query::energy) == datagram("sbfspot618_energy_query_req.bin"));
  }
  SUBCASE("the battery query to any device") {
    const RequestHeader header{any_device, 890492130, 0x0000, 0x8007};
    CHECK(build_query(header, Query::battery_soc) == datagram("fhem_battery_charge_query_req.bin"));
  }
}

TEST_CASE("sma codec: ctrl byte 0xE0 for SUSy-IDs 244 and 175") {
  for (std::uint16_t susy_id : {std::uint16_t{244}, std::uint16_t{175}, std::uint16_t{378}, std::uint16_t{0xFFFF}}) {
    CAPTURE(susy_id);
    const std::uint8_t expected = susy_id == 244 || susy_id == 175 ? 0xE0 : 0xA0;
    const RequestHeader header{{susy_id, 123456789}, 912345678, 0x0000, 5};
    CHECK(build_query(header, Query::energy)[19] == expected);
    CHECK(build_identify(header)[19] == expected);
    CHECK(build_login(header, UserGroup::user, *encode_password("x", UserGroup::user), 0)[19] == expected);
  }
  CHECK(build_logoff(912345678, 5)[19] == 0xA0);
}

TEST_CASE("sma codec: password encoding for user and installer, and its failures") {
  const auto user = encode_password("0000", UserGroup::user);
  REQUIRE(user);
  CHECK(*user == EncodedPassword{0xB8, 0xB8, 0xB8, 0xB8, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88});
  const auto installer = encode_password("0000", UserGroup::installer);
  REQUIRE(installer);
  CHECK(*installer == EncodedPassword{0xEB, 0xEB, 0xEB, 0xEB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB});
  // An addition modulo 256, not an XOR: '~' + 0xBB wraps to 0x39.
  CHECK((*encode_password("~", UserGroup::installer))[0] == 0x39);
  EncodedPassword empty{};
  empty.fill(0x88);
  CHECK(*encode_password("", UserGroup::user) == empty);
  const auto twelve = encode_password("Abcdefgh1?_!", UserGroup::user);
  REQUIRE(twelve);
  CHECK((*twelve)[11] == static_cast<std::uint8_t>('!' + 0x88));

  const std::string too_long = "Secret-Pass-13";
  const auto refused_long = encode_password(too_long, UserGroup::user);
  CHECK_FALSE(refused_long);
  CHECK_FALSE(refused_long.error().empty());
  CHECK(refused_long.error().find("Secret") == std::string::npos);
  const std::string not_ascii = "Geheimnis\xC3\xBC";
  const auto refused_ascii = encode_password(not_ascii, UserGroup::installer);
  CHECK_FALSE(refused_ascii);
  CHECK_FALSE(refused_ascii.error().empty());
  CHECK(refused_ascii.error().find("Geheim") == std::string::npos);
  CHECK_FALSE(encode_password("\x80", UserGroup::user));
  CHECK(encode_password("\x7F", UserGroup::user));
}

TEST_CASE("sma codec: zero_password clears login requests and replies only") {
  const Bytes request = datagram("lsw_login_req.bin");
  Bytes zeroed = request;
  CHECK(zero_password(zeroed));
  for (std::size_t i = 0; i < zeroed.size(); ++i) {
    CAPTURE(i);
    CHECK(zeroed[i] == (i >= 62 && i < 74 ? 0 : request[i]));
  }

  // A reply that echoes the password (the 78-byte field report) is zeroed too.
  Bytes echo = request;
  echo[42] = 0x0D;
  CHECK(zero_password(echo));
  CHECK(std::all_of(echo.begin() + 62, echo.begin() + 74, [](std::uint8_t b) { return b == 0; }));

  for (const char* name : {"lsw_login_resp_ok.bin", "lsw_login_resp_invalid_password.bin"}) {
    CAPTURE(name);
    const Bytes reply = datagram(name);
    Bytes copy = reply;
    CHECK(zero_password(copy));
    CHECK(copy == reply);  // the 66-byte reply holds only the end tag there
  }

  Bytes sbfspot = datagram("sbfspot745_login_req_pw0000.bin");
  CHECK(zero_password(sbfspot));
  CHECK(std::all_of(sbfspot.begin() + 62, sbfspot.begin() + 74, [](std::uint8_t b) { return b == 0; }));

  for (const std::string& name : all_fixtures()) {
    if (name.find("login") != std::string::npos) continue;
    CAPTURE(name);
    const Bytes original = datagram(name);
    Bytes copy = original;
    CHECK_FALSE(zero_password(copy));
    CHECK(copy == original);
  }

  Bytes cut(request.begin(), request.begin() + 66);
  CHECK(zero_password(cut));
  CHECK(std::all_of(cut.begin() + 62, cut.end(), [](std::uint8_t b) { return b == 0; }));
  Bytes short_cut(request.begin(), request.begin() + 50);
  CHECK_FALSE(zero_password(short_cut));
  CHECK(Bytes(short_cut) == Bytes(request.begin(), request.begin() + 50));
}

TEST_CASE("sma codec: answers() accepts the reply to the outstanding request only") {
  const InverterPacket reply = packet(datagram("lsw_query_spot_dc_power_resp.bin"));
  CHECK(reply.packet_id == 0x8004);
  CHECK(answers(reply, {0x8004, 0x53800200, lsw_inverter}));
  CHECK(answers(reply, {0x8004, 0x53800200, std::nullopt}));
  CHECK(answers(reply, {0x0004, 0x53800200, lsw_inverter}));  // the low 15 bits decide
  CHECK_FALSE(answers(reply, {0x8005, 0x53800200, lsw_inverter}));
  CHECK_FALSE(answers(reply, {0x8003, 0x53800200, lsw_inverter}));
  CHECK_FALSE(answers(reply, {0x8004, 0x53800201, lsw_inverter}));
  CHECK_FALSE(answers(reply, {0x8004, 0x51000200, lsw_inverter}));
  CHECK_FALSE(answers(reply, {0x8004, 0x53800200, Address{378, 3010538117}}));
  CHECK_FALSE(answers(reply, {0x8004, 0x53800200, Address{379, 3010538116}}));
  CHECK_FALSE(answers(reply, {0x8004, 0x53800200, any_device}));
}

TEST_CASE("sma codec: the query table is the spec's S, C and O rows in order") {
  const auto table = query_table();
  REQUIRE(table.size() == spec_query_rows().size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    CAPTURE(table[i].name);
    CHECK(static_cast<std::size_t>(table[i].query) == i);
    CHECK(Triple{table[i].command, table[i].first, table[i].last} == spec_query_rows()[i]);
    CHECK(&row_of(table[i].query) == &table[i]);
    const bool once_per_login = table[i].query == Query::software_version || table[i].query == Query::type_label;
    const bool optional = table[i].query == Query::operating_time || table[i].query == Query::dc_power_sb1600 ||
                          table[i].query == Query::meter_via_inverter;
    const QueryUse use = once_per_login ? QueryUse::per_login : optional ? QueryUse::optional : QueryUse::per_cycle;
    CHECK(table[i].use == use);
    CHECK(table[i].battery == (table[i].query == Query::battery_soc || table[i].query == Query::battery_info));
  }
}

TEST_CASE("sma codec: build_read over command words and every register range builds the whitelist only") {
  const RequestHeader header{lsw_inverter, lsw_client.serial, 0x0000, 0x1234};
  const auto words = command_words_to_try();
  std::set<Triple> built;
  std::size_t wrong_shape = 0;
  for (std::uint32_t command : words) {
    for (std::uint32_t lri = 0; lri <= 0xFFFF; ++lri) {
      const Triple triple{command, lri << 8, lri << 8 | 0xFF};
      const auto request = build_read(header, triple.command, triple.first, triple.last);
      if (!request) continue;
      built.insert(triple);
      const auto parsed = parse_inverter_packet(*request);
      if (!parsed || parsed->command != triple.command || parsed->first != triple.first ||
          parsed->last != triple.last || request->size() != 58) {
        ++wrong_shape;
      }
    }
  }
  // The allowed triples that lie on this grid: one register, a command word among those tried.
  std::set<Triple> expected;
  for (const Triple& t : allowed_reads()) {
    const bool one_register = (t.first & 0xFF) == 0 && t.last == (t.first | 0xFF);
    if (one_register && std::find(words.begin(), words.end(), t.command) != words.end()) expected.insert(t);
  }
  CHECK(built == expected);
  CHECK(wrong_shape == 0);
  CHECK(expected.size() == 9);  // the single-register rows of §6

  // Every allowed triple builds, ranges of several registers and identify included; neighbours do not.
  for (const Triple& t : allowed_reads()) {
    CAPTURE(t.command);
    CAPTURE(t.first);
    CHECK(build_read(header, t.command, t.first, t.last));
    for (const Triple& near : {Triple{t.command, t.first + 1, t.last}, Triple{t.command, t.first, t.last + 1},
                               Triple{t.command, t.first, t.last - 1}, Triple{t.command, t.first - 1, t.last},
                               Triple{t.command, t.last, t.first}, Triple{t.command + 1, t.first, t.last},
                               Triple{t.command | 0x0100, t.first, t.last}}) {
      CHECK(build_read(header, near.command, near.first, near.last).has_value() == allowed_reads().contains(near));
    }
  }
  for (std::uint32_t command : known_command_words()) {
    for (const Triple& t : spec_query_rows()) {
      CHECK(build_read(header, command, t.first, t.last).has_value() ==
            allowed_reads().contains({command, t.first, t.last}));
    }
  }
}

TEST_CASE("sma codec: every builder's datagram carries an allowed command") {
  std::vector<Bytes> sent;
  for (const Address& destination : {any_device, lsw_inverter, Address{244, 1}, Address{175, 2}}) {
    for (std::uint16_t ctrl_word : {std::uint16_t{0x0000}, std::uint16_t{0x0100}}) {
      for (std::uint16_t packet_id :
           {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{0x7FFF}, std::uint16_t{0xFFFF}}) {
        const RequestHeader header{destination, 987654321, ctrl_word, packet_id};
        for (const QueryRow& row : query_table()) sent.push_back(build_query(header, row.query));
        sent.push_back(build_identify(header));
        for (UserGroup group : {UserGroup::user, UserGroup::installer}) {
          sent.push_back(build_login(header, group, *encode_password("Abc-1234", group), 1700000000));
        }
        sent.push_back(build_logoff(987654321, packet_id));
      }
    }
  }
  for (const Bytes& bytes : sent) {
    const auto parsed = parse_inverter_packet(bytes);
    REQUIRE(parsed);
    CHECK(allowed_command(*parsed));
    CHECK((parsed->packet_id & 0x8000) != 0);
    CHECK(std::size_t{parsed->long_words} == (bytes.size() - 20 - 2) / 4);
    CHECK(parsed->source.susy_id == own_susy_id);
    CHECK(walk_tags(bytes));
  }
  CHECK(build_discovery().size() == 20);
}

TEST_CASE("sma codec: the Energy Meter 2.0 datagram") {
  const MeterDatagram m = meter(datagram("emeter_6069_mlasch_pkt0.bin"));
  CHECK(m.protocol == protocol_meter);
  CHECK(m.sender == Address{349, 1901429669});
  CHECK(m.ticker == 1985149010);
  CHECK(m.items.size() == 58);
  CHECK_FALSE(m.stopped_early);
  CHECK(m.firmware == "2.0.18.R");
  CHECK(net_power(m, 1, 2) == doctest::Approx(1054.6));
  CHECK(kwh(counter(m, 1)) == doctest::Approx(24.9821));
  CHECK(kwh(counter(m, 2)) == doctest::Approx(0.3617));
  CHECK(thousandths(current(m, 32)) == doctest::Approx(226.278));
  CHECK(thousandths(current(m, 52)) == doctest::Approx(225.997));
  CHECK(thousandths(current(m, 72)) == doctest::Approx(224.927));
  CHECK(thousandths(current(m, 31)) == doctest::Approx(1.556));
  CHECK(thousandths(current(m, 13)) == doctest::Approx(0.966));
  CHECK(net_power(m, 21, 22) == doctest::Approx(344.3));
  CHECK(net_power(m, 41, 42) == doctest::Approx(592.7));
  CHECK(net_power(m, 61, 62) == doctest::Approx(117.6));
  CHECK_FALSE(current_value(m, 14));  // no frequency channel
  CHECK_FALSE(counter_value(m, 13));
}

TEST_CASE("sma codec: the idle Energy Meter datagrams") {
  const std::tuple<const char*, std::uint32_t, std::uint64_t> cases[] = {
      {"emeter_6069_mlasch_pkt1.bin", 3008530670, 225744},
      {"emeter_6069_mlasch_pkt5255.bin", 3008531670, 225807},
      {"emeter_6069_mlasch_pkt9918.bin", 3008533669, 225439},
  };
  const MeterDatagram first = meter(datagram("emeter_6069_mlasch_pkt0.bin"));
  for (const auto& [name, ticker, l1_millivolts] : cases) {
    CAPTURE(name);
    const MeterDatagram m = meter(datagram(name));
    CHECK(m.sender == first.sender);
    CHECK(m.ticker == ticker);
    CHECK(net_power(m, 1, 2) == 0.0);
    CHECK(kwh(counter(m, 1)) == doctest::Approx(0.5786));
    CHECK(counter(m, 2) == 0);
    CHECK(current(m, 32) == l1_millivolts);
    CHECK(current(m, 52) == 0);
    CHECK(current(m, 72) == 0);
    CHECK(m.firmware == "2.0.18.R");
    // Lower than pkt0's counter: what the poller's counter-decrease rule acts on.
    CHECK(counter(m, 1) < counter(first, 1));
  }
}

TEST_CASE("sma codec: Home Manager 2.0 0x6081 datagrams with the +2 offsets") {
  const Bytes first_bytes = datagram("shm2_6081_danieltwagner_first.bin");
  const MeterDatagram m = meter(first_bytes);
  CHECK(m.protocol == protocol_meter_extended);
  CHECK(m.sender == Address{372, 3008817151});
  CHECK(m.ticker == 2158601230);
  CHECK(m.items.size() == 59);
  CHECK_FALSE(m.stopped_early);
  REQUIRE_FALSE(m.items.empty());
  CHECK(m.items[0].index == 1);  // the first item at 30, not 28
  CHECK(m.items[0].kind == 4);
  CHECK(m.firmware == "2.11.5.R");
  CHECK(net_power(m, 1, 2) == doctest::Approx(-6994.5));
  CHECK(kwh(counter(m, 1)) == doctest::Approx(17518.8613));
  CHECK(kwh(counter(m, 2)) == doctest::Approx(14829.6958));
  CHECK(thousandths(current(m, 14)) == doctest::Approx(50.017));
  CHECK(thousandths(current(m, 32)) == doctest::Approx(234.973));
  CHECK(thousandths(current(m, 31)) == doctest::Approx(7.841));
  CHECK(net_power(m, 21, 22) == doctest::Approx(-1837.2));
  CHECK(net_power(m, 41, 42) == doctest::Approx(-2566.1));
  CHECK(net_power(m, 61, 62) == doctest::Approx(-2591.2));

  const MeterDatagram last = meter(datagram("shm2_6081_danieltwagner_last.bin"));
  CHECK(last.sender == m.sender);
  CHECK(last.ticker == 2159366066);
  CHECK(net_power(last, 1, 2) == doctest::Approx(-6990.9));
  CHECK(kwh(counter(last, 2)) == doctest::Approx(14831.1823));
  CHECK(thousandths(current(last, 14)) == doctest::Approx(49.98));
  CHECK(thousandths(current(last, 32)) == doctest::Approx(234.188));
  CHECK(thousandths(current(last, 31)) == doctest::Approx(6.1));

  // Read at the 0x6069 offsets, the same bytes give a different sender: the +2 matters.
  Bytes as_6069 = first_bytes;
  as_6069[17] = 0x69;
  CHECK(meter(as_6069).sender != m.sender);
}

TEST_CASE("sma codec: the meter item walk and its stops") {
  const Bytes firmware{0x90, 0, 0, 0, 2, 11, 5, 'R'};
  SUBCASE("channels, kinds and the firmware item") {
    const MeterDatagram m = meter(meter_datagram(protocol_meter, joined({obis(1, 4, 100), obis(1, 8, 0x123456789A),
                                                                         obis(2, 4, 7, 1), firmware, obis(2, 4, 9)})));
    CHECK(m.sender == Address{349, 1234});
    CHECK(m.ticker == 5678);
    CHECK(m.items.size() == 4);
    CHECK_FALSE(m.stopped_early);
    CHECK(current_value(m, 1) == 100u);
    CHECK(counter_value(m, 1) == 0x123456789Au);
    CHECK(current_value(m, 2) == 9u);  // channel 1's item is not the device's own
    CHECK(m.firmware == "2.11.5.R");
  }
  SUBCASE("an item of another length stops the walk and keeps what came before") {
    const MeterDatagram m = meter(
        meter_datagram(protocol_meter_extended, joined({obis(1, 4, 100), obis(5, 2, 3), obis(2, 4, 9), firmware})));
    CHECK(m.items.size() == 1);
    CHECK(m.stopped_early);
    CHECK_FALSE(current_value(m, 2));
    CHECK_FALSE(m.firmware);
  }
  SUBCASE("an item cut short by 16 + n") {
    Bytes items = joined({obis(1, 4, 100), obis(1, 8, 5)});
    items.resize(items.size() - 4);
    const MeterDatagram m = meter(meter_datagram(protocol_meter, items));
    CHECK(m.items.size() == 1);
    CHECK(m.stopped_early);
    const MeterDatagram cut_id = meter(meter_datagram(protocol_meter, Bytes{0, 1, 4}));
    CHECK(cut_id.items.empty());
    CHECK(cut_id.stopped_early);
    const MeterDatagram cut_firmware = meter(meter_datagram(protocol_meter, Bytes{0x90, 0, 0, 0, 2}));
    CHECK_FALSE(cut_firmware.firmware);
    CHECK(cut_firmware.stopped_early);
  }
  SUBCASE("no items, too short, not a meter") {
    const MeterDatagram empty = meter(meter_datagram(protocol_meter, {}));
    CHECK(empty.items.empty());
    CHECK_FALSE(empty.stopped_early);
    Bytes short_header = meter_datagram(protocol_meter_extended, {});
    short_header[13] = static_cast<std::uint8_t>(short_header[13] - 2);  // n ends inside the ticker
    CHECK_FALSE(decode_meter(short_header));
    CHECK_FALSE(decode_meter(datagram("lsw_query_swversion_resp.bin")));
    CHECK_FALSE(decode_meter(meter_datagram(protocol_inverter, {})));
  }
}

TEST_CASE("sma codec: every prefix of every fixture decodes without crashing") {
  for (const std::string& name : all_fixtures()) {
    CAPTURE(name);
    const Bytes whole = datagram(name);
    for (std::size_t length = 0; length < whole.size(); ++length) {
      const Bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(length));
      decode_everything(prefix);
      // Every captured datagram ends with its end tag: no strict prefix is a whole datagram.
      CHECK_FALSE(walk_tags(prefix));
      CHECK_FALSE(protocol_of(prefix));
    }
    decode_everything(whole);
  }
}

TEST_CASE("sma codec: damaged and random datagrams decode without crashing") {
  std::vector<Bytes> fixtures;
  for (const std::string& name : all_fixtures()) fixtures.push_back(datagram(name));
  for (const Bytes& whole : fixtures) {
    for (std::size_t at = 0; at < whole.size(); ++at) {
      for (std::uint8_t value : {std::uint8_t{0xFF}, static_cast<std::uint8_t>(whole[at] ^ (1u << (at % 8)))}) {
        Bytes damaged = whole;
        damaged[at] = value;
        decode_everything(damaged);
      }
    }
  }
  // The first 18 bytes of a fixture (a valid generic header), then noise, with n fitted to the
  // length in every other datagram so that the protocol bodies are reached.
  std::mt19937 random(20240415);
  for (std::size_t i = 0; i < 4000; ++i) {
    const Bytes& base = fixtures[i % fixtures.size()];
    const std::size_t header = std::min<std::size_t>(18, base.size());
    Bytes noise(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(header));
    noise.resize(header + random() % 700);
    for (std::size_t at = header; at < noise.size(); ++at) noise[at] = static_cast<std::uint8_t>(random());
    if (i % 2 == 0 && noise.size() >= 20) {
      const std::size_t n = noise.size() - 20;
      noise[12] = static_cast<std::uint8_t>(n >> 8);
      noise[13] = static_cast<std::uint8_t>(n);
    }
    decode_everything(noise);
  }
  CHECK(true);
}
