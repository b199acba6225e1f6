// The APsystems ECU codec against the captured replies and requests of apsystems-ecu.md §13: the
// request builders byte for byte and their whitelist, the §3 read rule and validation, the 0001,
// 0002 and 0030 decoders to the fixture index's values, BCD times, the §5 record walk (type 05 and
// unknown codes sized by tiling, odd state bytes, counts), and truncated, damaged and random input.
#include "protocol/apsystems/codec.hpp"

#include "common/hex.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::apsystems;

namespace {

constexpr std::string_view ecu_id = "216300090693";

Bytes bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

Bytes fixture(const std::string& name) { return bytes_of(test::fixture("apsystems/" + name)); }

struct ReplyFixture {
  std::string name;
  Command command;
};

// Every reply .bin of the fixture index.
const std::vector<ReplyFixture>& reply_fixtures() {
  static const std::vector<ReplyFixture> fixtures{
      {"openhab_ecub_systeminfo.bin", Command::ecu_info},
      {"mihol_ecub_systeminfo.bin", Command::ecu_info},
      {"openhab_ds3_realtime_20230727.bin", Command::realtime},
      {"openhab_ds3_realtime_20230731.bin", Command::realtime},
      {"openhab_ds3_realtime_20230806_one_offline.bin", Command::realtime},
      {"mihol_ds3_realtime.bin", Command::realtime},
      {"mihol_yc600_realtime.bin", Command::realtime},
      {"mihol_qs1_realtime.bin", Command::realtime},
      {"ksheumaker6_ecuc_yc1000_realtime.bin", Command::realtime},
      {"openhab_signal.bin", Command::signal},
  };
  return fixtures;
}

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands{Command::ecu_info, Command::realtime, Command::signal};
  return commands;
}

template <class T>
T decoded(const std::variant<T, Malformed>& result) {
  const auto* bad = std::get_if<Malformed>(&result);
  REQUIRE_MESSAGE(bad == nullptr, (bad ? bad->why : ""));
  return std::get<T>(result);
}

template <class T>
bool is_malformed(const std::variant<T, Malformed>& result) {
  return std::holds_alternative<Malformed>(result);
}

// Writes the length field of `reply` (size − 1) in place; `reply` has at least 9 bytes.
Bytes restamped(Bytes reply) {
  std::string length = std::to_string(reply.size() - 1);
  length.insert(0, 4 - std::min<std::size_t>(4, length.size()), '0');
  std::copy(length.end() - 4, length.end(), reply.begin() + 5);
  return reply;
}

// "APS11" LLLL code body "END\n" with a correct LLLL.
Bytes reply_with(std::string_view code, const Bytes& body) {
  Bytes out = bytes_of("APS110000");
  out.insert(out.end(), code.begin(), code.end());
  out.insert(out.end(), body.begin(), body.end());
  const std::string_view end = "END\n";
  out.insert(out.end(), end.begin(), end.end());
  return restamped(out);
}

void put_be(Bytes& out, std::uint64_t value, int size) {
  for (int i = size - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_text(Bytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }

Bytes uid_bytes(std::string_view hex) {
  std::string raw;
  REQUIRE(from_hex(hex, raw));
  return bytes_of(raw);
}

// A 0002 record: UID, state, type code, then `words` (frequency and temperature first, if any).
Bytes record(std::string_view uid, std::uint8_t state, std::string_view code, const std::vector<std::uint16_t>& words) {
  Bytes out = uid_bytes(uid);
  out.push_back(state);
  put_text(out, code);
  for (std::uint16_t word : words) put_be(out, word, 2);
  return out;
}

// An online type-01 record: 50.0 Hz, 32 °C, P 55/66, V 237/238.
Bytes ds3_record(std::string_view uid) { return record(uid, 1, "01", {500, 132, 55, 237, 66, 238}); }

// A 0002 reply with match status 00, flag 01, timestamp 2023-07-27 14:59:20 and `records`.
Bytes realtime_reply(std::uint16_t declared, const std::vector<Bytes>& records) {
  Bytes body = bytes_of("0001");
  put_be(body, declared, 2);
  body.insert(body.end(), {0x20, 0x23, 0x07, 0x27, 0x14, 0x59, 0x20});
  for (const Bytes& r : records) body.insert(body.end(), r.begin(), r.end());
  return reply_with("0002", body);
}

std::string text_of(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

bool has_problem(const Realtime& r, std::string_view word) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [word](const std::string& p) { return p.find(word) != std::string::npos; });
}

unsigned pv_power(const InverterRecord& r) { return std::accumulate(r.powers_w.begin(), r.powers_w.end(), 0u); }

unsigned total_power(const Realtime& r) {
  unsigned sum = 0;
  for (const InverterRecord& record : r.records) sum += pv_power(record);
  return sum;
}

void check_two_channel(const InverterRecord& r, std::string_view uid, double hz, int celsius,
                       std::vector<std::uint16_t> powers, std::vector<std::uint16_t> volts) {
  CAPTURE(uid);
  CHECK(r.uid == uid);
  CHECK(r.state == 1);
  CHECK(r.online());
  CHECK(r.type_code == "01");
  CHECK(r.decoded);
  CHECK(r.frequency_hz == hz);
  CHECK(r.temperature_c == celsius);
  CHECK(r.powers_w == powers);
  CHECK(r.voltages_v == volts);
  CHECK(r.raw.size() == 21);
}

// Every decoding surface on `bytes`, with checks that hold for any input.
void decode_everything(const Bytes& bytes) {
  const auto announced = announced_size(bytes);
  if (bytes.size() < length_prefix) CHECK_FALSE(announced);
  for (Command command : all_commands()) {
    if (!invalid_reply(bytes, command)) {
      CHECK(announced == bytes.size());
    }
  }
  const auto ecu_info = decode_ecu_info(bytes);
  if (const auto* info = std::get_if<EcuInfo>(&ecu_info)) {
    CHECK(valid_ecu_id(info->ecu_id));
  }
  const auto realtime = decode_realtime(bytes);
  if (const auto* r = std::get_if<Realtime>(&realtime)) {
    std::size_t raw_total = 0;
    for (const InverterRecord& record : r->records) {
      CHECK(record.uid.size() == 12);
      CHECK(record.raw.size() >= 9);
      if (record.decoded) CHECK(record.online());
      if (record.decoded) CHECK_FALSE(record.powers_w.empty());
      raw_total += record.raw.size();
    }
    CHECK(raw_total <= bytes.size());
  }
  const auto signal = decode_signal(bytes);
  if (const auto* s = std::get_if<Signal>(&signal)) {
    if (!s->no_data()) CHECK(bytes.size() == 19 + 7 * s->levels.size());
  }
}

}  // namespace

TEST_CASE("apsystems codec: the builder reproduces the 0001, 0002 and 0030 request fixtures byte for byte") {
  CHECK(build_request(Command::ecu_info) == fixture("req_ecu_info.txt"));
  CHECK(build_request(Command::ecu_info, ecu_id) == fixture("req_ecu_info.txt"));
  CHECK(build_request(Command::realtime, ecu_id) == fixture("req_realtime_216300090693.txt"));
  CHECK(build_request(Command::signal, ecu_id) == fixture("req_signal_216300090693.txt"));
  CHECK(text_of(*build_request(Command::ecu_info)) == "APS1100160001END\n");
  CHECK(text_of(*build_request(Command::realtime, ecu_id)) == "APS1100280002216300090693END\n");
  CHECK(text_of(*build_request(Command::signal, ecu_id)) == "APS1100280030216300090693END\n");
}

TEST_CASE("apsystems codec: only 0001, 0002 and 0030 can be built, and 0002/0030 only with a valid id") {
  int buildable = 0;
  for (std::uint32_t value = 0; value <= 0xFFFF; ++value) {
    const auto command = static_cast<Command>(value);
    const bool whitelisted = value == 1 || value == 2 || value == 30;
    const auto with_id = build_request(command, ecu_id);
    const auto without_id = build_request(command);
    if (with_id.has_value() != whitelisted || without_id.has_value() != (value == 1) ||
        command_code(command).empty() == whitelisted) {
      FAIL("command ", value, " is buildable against the whitelist");
    }
    if (!with_id) continue;
    ++buildable;
    const std::string text = text_of(*with_id);
    CHECK(text.starts_with("APS11"));
    CHECK(text.ends_with("END\n"));
    CHECK(std::stoul(text.substr(5, 4)) == text.size() - 1);
    CHECK(text.substr(9, 4) == command_code(command));
  }
  CHECK(buildable == 3);
  CHECK(command_code(Command::ecu_info) == "0001");
  CHECK(command_code(Command::realtime) == "0002");
  CHECK(command_code(Command::signal) == "0030");

  for (std::string_view bad : {"", "21630009069", "2163000906930", "21630009069a", " 16300090693", "216300090693 ",
                               "2163000906\n3", "216300090693END", "ABCDEFGHIJKL"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_ecu_id(bad));
    CHECK_FALSE(build_request(Command::realtime, bad));
    CHECK_FALSE(build_request(Command::signal, bad));
  }
  CHECK(valid_ecu_id("000000000000"));
  CHECK(valid_ecu_id(ecu_id));
}

TEST_CASE("apsystems codec: every reply fixture announces its size and is valid for its own command only") {
  for (const auto& [name, command] : reply_fixtures()) {
    CAPTURE(name);
    const Bytes reply = fixture(name);
    CHECK(announced_size(reply) == reply.size());
    CHECK(announced_size(std::span(reply).first(length_prefix)) == reply.size());
    CHECK_FALSE(announced_size(std::span(reply).first(length_prefix - 1)));
    CHECK(invalid_reply(reply, command) == std::nullopt);
    for (Command other : all_commands()) {
      if (other == command) continue;
      const auto why = invalid_reply(reply, other);
      REQUIRE(why);
      CHECK(why->find("command") != std::string::npos);
    }
    CHECK(invalid_reply(reply, static_cast<Command>(3)) == "not a command sunkeep sends");
  }
}

TEST_CASE("apsystems codec: 0001 openhab_ecub_systeminfo decodes to the fixture index's values") {
  const EcuInfo info = decoded(decode_ecu_info(fixture("openhab_ecub_systeminfo.bin")));
  CHECK(info.ecu_id == "216300090693");
  CHECK(ecu_model(info.ecu_id) == "ECU-B");
  CHECK(info.layout == "01");
  CHECK(info.lifetime_energy_kwh == 115.0);
  CHECK(info.current_power_w == 836);
  CHECK(info.today_energy_kwh == 3.43);
  CHECK_FALSE(info.last_cloud_connection);
  CHECK(info.inverters == 2);
  CHECK(info.inverters_online == 2);
  CHECK(info.zigbee_channel == "10");
  CHECK(info.firmware == "ECU_B_1.2.26E");
  CHECK(info.firmware.size() == 13);
  CHECK(info.time_zone == "Etc/GMT-8");
  CHECK(info.ethernet_mac == std::array<std::uint8_t, 6>{0x80, 0x97, 0x1b, 0x0b, 0xa6, 0xdc});
  CHECK(info.wifi_mac == std::array<std::uint8_t, 6>{0, 0, 0, 0, 0, 0});
}

TEST_CASE("apsystems codec: 0001 mihol_ecub_systeminfo (a 12-character firmware) decodes to the index's values") {
  const EcuInfo info = decoded(decode_ecu_info(fixture("mihol_ecub_systeminfo.bin")));
  CHECK(info.ecu_id == "216300007004");
  CHECK(ecu_model(info.ecu_id) == "ECU-B");
  CHECK(info.layout == "01");
  CHECK(info.lifetime_energy_kwh == 1995.5);
  CHECK(info.current_power_w == 425);
  CHECK(info.today_energy_kwh == 3.10);
  CHECK_FALSE(info.last_cloud_connection);
  CHECK(info.inverters == 1);
  CHECK(info.inverters_online == 1);
  CHECK(info.zigbee_channel == "10");
  CHECK(info.firmware == "ECU_B_1.2.33");
  CHECK(info.time_zone == "Etc/GMT-8");
  CHECK(info.ethernet_mac == std::array<std::uint8_t, 6>{0x80, 0x97, 0x1b, 0x02, 0xdb, 0x59});
  CHECK(info.wifi_mac == std::array<std::uint8_t, 6>{0, 0, 0, 0, 0, 0});
}

TEST_CASE("apsystems codec: 0002 openhab DS3 replies decode to the fixture index's values") {
  const Realtime july27 = decoded(decode_realtime(fixture("openhab_ds3_realtime_20230727.bin")));
  CHECK(july27.status == "00");
  CHECK_FALSE(july27.no_data());
  CHECK(july27.flag == "01");
  CHECK(july27.declared_records == 2);
  CHECK(july27.timestamp == "2023-07-27 14:59:20");
  CHECK(july27.problems.empty());
  REQUIRE(july27.records.size() == 2);
  check_two_channel(july27.records[0], "707000017197", 50.0, 32, {55, 66}, {237, 237});
  check_two_channel(july27.records[1], "702000337185", 50.0, 35, {60, 0}, {237, 237});
  CHECK(pv_power(july27.records[0]) == 121);
  CHECK(pv_power(july27.records[1]) == 60);
  CHECK(inverter_family(july27.records[0].uid) == "DS3");

  const Realtime july31 = decoded(decode_realtime(fixture("openhab_ds3_realtime_20230731.bin")));
  CHECK(july31.timestamp == "2023-07-31 17:44:22");
  CHECK(july31.flag == "01");
  CHECK(july31.problems.empty());
  REQUIRE(july31.records.size() == 2);
  check_two_channel(july31.records[0], "707000017197", 49.9, 39, {73, 58}, {237, 237});
  check_two_channel(july31.records[1], "702000337185", 49.9, 36, {51, 0}, {238, 238});
  CHECK(pv_power(july31.records[0]) == 131);
  CHECK(pv_power(july31.records[1]) == 51);
}

TEST_CASE("apsystems codec: 0002 with one offline inverter: its placeholders are not decoded") {
  const Realtime r = decoded(decode_realtime(fixture("openhab_ds3_realtime_20230806_one_offline.bin")));
  CHECK(r.timestamp == "2023-08-06 16:00:51");
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 2);
  check_two_channel(r.records[0], "707000017197", 49.9, 24, {42, 41}, {235, 235});
  CHECK(pv_power(r.records[0]) == 83);
  const InverterRecord& offline = r.records[1];
  CHECK(offline.uid == "702000337185");
  CHECK(offline.state == 0);
  CHECK_FALSE(offline.online());
  CHECK(offline.type_code == "01");
  CHECK_FALSE(offline.decoded);
  CHECK(offline.powers_w.empty());
  CHECK(offline.voltages_v.empty());
  REQUIRE(offline.raw.size() == 21);
  CHECK(Bytes(offline.raw.begin() + 9, offline.raw.end()) == Bytes{0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("apsystems codec: 0002 mihol DS3 single record matches the 425 W of its 0001") {
  const Realtime r = decoded(decode_realtime(fixture("mihol_ds3_realtime.bin")));
  CHECK(r.timestamp == "2024-09-13 12:59:32");
  CHECK(r.declared_records == 1);
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 1);
  check_two_channel(r.records[0], "702000999999", 49.9, 51, {211, 214}, {240, 240});
  CHECK(pv_power(r.records[0]) == 425);
  const EcuInfo info = decoded(decode_ecu_info(fixture("mihol_ecub_systeminfo.bin")));
  CHECK(info.current_power_w == pv_power(r.records[0]));
}

TEST_CASE("apsystems codec: 0002 seven YC600 records") {
  const Realtime r = decoded(decode_realtime(fixture("mihol_yc600_realtime.bin")));
  CHECK(r.timestamp == "2020-11-24 12:05:10");
  CHECK(r.declared_records == 7);
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 7);
  const std::vector<std::string> uids{"408000094016", "408000095622", "408000091826", "408000092933",
                                      "408000091913", "408000092434", "408000091840"};
  const std::vector<std::vector<std::uint16_t>> powers{{20, 20}, {19, 20}, {20, 20}, {20, 19},
                                                       {21, 20}, {20, 20}, {20, 20}};
  const std::vector<std::uint16_t> volts{228, 228, 227, 227, 227, 227, 226};
  const std::vector<unsigned> sums{40, 39, 40, 39, 41, 40, 40};
  for (std::size_t i = 0; i < 7; ++i) {
    check_two_channel(r.records[i], uids[i], 49.9, 11, powers[i], {volts[i], volts[i]});
    CHECK(pv_power(r.records[i]) == sums[i]);
    CHECK(inverter_family(r.records[i].uid) == "YC600");
  }
  CHECK(total_power(r) == 279);
}

TEST_CASE("apsystems codec: 0002 seven QS1 records (type 03, 60 Hz grid)") {
  const Realtime r = decoded(decode_realtime(fixture("mihol_qs1_realtime.bin")));
  CHECK(r.timestamp == "2020-12-29 15:12:53");
  CHECK(r.declared_records == 7);
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 7);
  const std::vector<std::string> uids{"802000104413", "802000110269", "802000110549", "802000111314",
                                      "802000112342", "802000113304", "802000113523"};
  const std::vector<int> temperatures{1, 0, 1, 0, 1, 1, 2};
  const std::vector<std::vector<std::uint16_t>> powers{{2, 1, 7, 6}, {1, 1, 6, 6}, {1, 1, 6, 6}, {1, 0, 6, 6},
                                                       {0, 1, 5, 6}, {4, 0, 0, 0}, {1, 1, 6, 6}};
  const std::vector<std::uint16_t> volts{241, 242, 241, 241, 239, 240, 241};
  const std::vector<unsigned> sums{16, 14, 14, 13, 12, 4, 14};
  for (std::size_t i = 0; i < 7; ++i) {
    const InverterRecord& rec = r.records[i];
    CAPTURE(i);
    CHECK(rec.uid == uids[i]);
    CHECK(rec.type_code == "03");
    CHECK(rec.online());
    CHECK(rec.decoded);
    CHECK(rec.frequency_hz == 59.9);
    CHECK(rec.temperature_c == temperatures[i]);
    CHECK(rec.powers_w == powers[i]);
    CHECK(rec.voltages_v == std::vector<std::uint16_t>{volts[i]});
    CHECK(rec.raw.size() == 23);
    CHECK(pv_power(rec) == sums[i]);
    CHECK(inverter_family(rec.uid) == "QS1");
  }
  CHECK(total_power(r) == 87);
}

TEST_CASE("apsystems codec: 0002 eleven YC1000 records (type 02, 27 bytes) from an ECU-C") {
  const Realtime r = decoded(decode_realtime(fixture("ksheumaker6_ecuc_yc1000_realtime.bin")));
  CHECK(r.timestamp == "2021-04-14 15:08:05");
  CHECK(r.declared_records == 11);
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 11);
  const InverterRecord& first = r.records.front();
  CHECK(first.uid == "502000006223");
  CHECK(first.frequency_hz == 50.1);
  CHECK(first.temperature_c == 40);
  CHECK(first.powers_w == std::vector<std::uint16_t>{258, 257, 254, 253});
  CHECK(first.voltages_v == std::vector<std::uint16_t>{236, 238, 234});
  CHECK(pv_power(first) == 1022);
  const InverterRecord& last = r.records.back();
  CHECK(last.uid == "502000008541");
  CHECK(last.frequency_hz == 50.0);
  CHECK(last.temperature_c == 40);
  CHECK(pv_power(last) == 925);
  const std::vector<unsigned> sums{1022, 1017, 1001, 1025, 1010, 997, 1013, 1023, 1026, 1032, 925};
  for (std::size_t i = 0; i < r.records.size(); ++i) {
    const InverterRecord& rec = r.records[i];
    CAPTURE(i);
    CHECK(rec.type_code == "02");
    CHECK(rec.decoded);
    CHECK(rec.raw.size() == 27);
    CHECK(rec.powers_w.size() == 4);
    CHECK(rec.voltages_v.size() == 3);
    CHECK(rec.frequency_hz >= 49.9);
    CHECK(rec.frequency_hz <= 50.1);
    CHECK(pv_power(rec) == sums[i]);
    CHECK(inverter_family(rec.uid) == "YC1000");
  }
  CHECK(total_power(r) == 11091);
}

TEST_CASE("apsystems codec: 0030 openhab_signal decodes to two levels") {
  const Signal s = decoded(decode_signal(fixture("openhab_signal.bin")));
  CHECK(s.status == "00");
  CHECK_FALSE(s.no_data());
  REQUIRE(s.levels.size() == 2);
  CHECK(s.levels[0].uid == "702000337185");
  CHECK(s.levels[0].level == 0);
  CHECK(s.levels[0].level * 100.0 / 255 == 0.0);
  CHECK(s.levels[1].uid == "707000017197");
  CHECK(s.levels[1].level == 211);
  CHECK(s.levels[1].level * 100.0 / 255 == doctest::Approx(82.745).epsilon(1e-5));
}

TEST_CASE("apsystems codec: BCD times") {
  const auto time = [](std::initializer_list<std::uint8_t> bytes) { return bcd_time(Bytes(bytes)); };
  CHECK(time({0x20, 0x21, 0x04, 0x14, 0x15, 0x08, 0x05}) == "2021-04-14 15:08:05");
  CHECK(time({0x20, 0x24, 0x02, 0x29, 0x23, 0x59, 0x59}) == "2024-02-29 23:59:59");
  CHECK(time({0x20, 0x25, 0x12, 0x31, 0x00, 0x00, 0x00}) == "2025-12-31 00:00:00");
  CHECK_FALSE(time({0xD0, 0xD0, 0xD0, 0xD0, 0xD0, 0xD0, 0xD0}));
  CHECK_FALSE(time({0x20, 0x21, 0x04, 0x14, 0x15, 0x08, 0x0A}));  // a nibble above 9
  CHECK_FALSE(time({0x20, 0x21, 0x04, 0x14, 0x15, 0x08, 0xA0}));
  CHECK_FALSE(time({0x20, 0x23, 0x02, 0x29, 0x12, 0x00, 0x00}));  // no 29 February in 2023
  CHECK_FALSE(time({0x20, 0x23, 0x04, 0x31, 0x12, 0x00, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x13, 0x01, 0x12, 0x00, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x00, 0x01, 0x12, 0x00, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x01, 0x01, 0x24, 0x00, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x01, 0x01, 0x12, 0x60, 0x00}));
  CHECK_FALSE(time({0x20, 0x23, 0x01, 0x01, 0x12, 0x00, 0x60}));
  CHECK_FALSE(time({0x20, 0x23, 0x01, 0x01, 0x12, 0x00}));  // not 7 bytes
  CHECK_FALSE(time({}));
}

TEST_CASE("apsystems codec: ECU models and inverter families by prefix") {
  CHECK(ecu_model("216000012345") == "ECU-R");
  CHECK(ecu_model("216200012345") == "ECU-R-Pro");
  CHECK(ecu_model("216300012345") == "ECU-B");
  CHECK(ecu_model("215000003925") == "ECU-C");
  CHECK(ecu_model("203000012345") == "ECU-3");
  CHECK(ecu_model("216100012345") == "ECU");
  CHECK(ecu_model("") == "ECU");
  CHECK(inverter_family("100000000001") == "YC500");
  CHECK(inverter_family("408000094016") == "YC600");
  CHECK(inverter_family("502000006223") == "YC1000");
  CHECK(inverter_family("707000017197") == "DS3");
  CHECK(inverter_family("802000104413") == "QS1");
  CHECK(inverter_family("906000000001") == "QT2");
  CHECK(inverter_family("8f0000000001") == "");
  CHECK(inverter_family("000000000001") == "");
  CHECK(inverter_family("") == "");
}

TEST_CASE("apsystems codec: every fixture truncated at every length") {
  for (const auto& [name, command] : reply_fixtures()) {
    CAPTURE(name);
    const Bytes reply = fixture(name);
    for (std::size_t size = 0; size < reply.size(); ++size) {
      CAPTURE(size);
      const Bytes cut(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(size));
      if (size < length_prefix) {
        CHECK_FALSE(announced_size(cut));
      } else {
        CHECK(announced_size(cut) == reply.size());
      }
      CHECK(invalid_reply(cut, command));
      decode_everything(cut);
    }
  }
}

TEST_CASE("apsystems codec: damaged framing fails validation with a reason") {
  for (const auto& [name, command] : reply_fixtures()) {
    CAPTURE(name);
    const Bytes reply = fixture(name);

    Bytes letters = reply;
    letters[7] = 'x';
    CHECK_FALSE(announced_size(letters));
    CHECK(invalid_reply(letters, command) == "the length field is not four digits");

    Bytes too_long = restamped(reply);
    too_long[8] = static_cast<std::uint8_t>(too_long[8] == '9' ? '0' : too_long[8] + 1);
    CHECK(announced_size(too_long) != reply.size());
    REQUIRE(invalid_reply(too_long, command));
    CHECK(invalid_reply(too_long, command)->find("length field") != std::string::npos);

    Bytes extra = reply;
    extra.push_back('\n');
    CHECK(invalid_reply(extra, command));

    Bytes no_end = reply;
    no_end[no_end.size() - 2] = 'X';
    CHECK(invalid_reply(no_end, command) == "does not end with END\\n");
    Bytes no_newline = reply;
    no_newline.back() = '\r';
    CHECK(invalid_reply(no_newline, command));

    Bytes other_echo = reply;
    other_echo[12] = '9';
    REQUIRE(invalid_reply(other_echo, command));
    CHECK(invalid_reply(other_echo, command)->find("command") != std::string::npos);

    Bytes not_aps = reply;
    not_aps[0] = 'B';
    CHECK(invalid_reply(not_aps, command) == "does not start with APS");

    CHECK(invalid_reply(Bytes{}, command));
    for (const Bytes& damaged : {letters, too_long, extra, no_end, no_newline, other_echo, not_aps}) {
      decode_everything(damaged);
    }
  }
}

TEST_CASE("apsystems codec: 0001 with damaged fields is malformed") {
  const Bytes reply = fixture("openhab_ecub_systeminfo.bin");
  const auto changed = [&reply](std::size_t at, std::string_view text) {
    Bytes out = reply;
    std::copy(text.begin(), text.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    return out;
  };
  CHECK(is_malformed(decode_ecu_info(changed(52, "01x"))));   // firmware length not digits
  CHECK(is_malformed(decode_ecu_info(changed(52, "999"))));   // firmware past the end
  CHECK(is_malformed(decode_ecu_info(changed(52, "014"))));   // lengths no longer add up
  CHECK(is_malformed(decode_ecu_info(changed(52, "012"))));
  CHECK(is_malformed(decode_ecu_info(changed(68, "0x9"))));   // time zone length not digits
  CHECK(is_malformed(decode_ecu_info(changed(68, "099"))));
  CHECK(is_malformed(decode_ecu_info(changed(13, "21630009069A"))));
  CHECK(is_malformed(decode_ecu_info(changed(25, "03"))));   // unknown layout
  CHECK(is_malformed(decode_ecu_info(changed(50, "1x"))));   // Zigbee channel not digits
  CHECK(is_malformed(decode_ecu_info(changed(55, "\x01"))));  // firmware not printable
  CHECK(is_malformed(decode_ecu_info(changed(71, "\xff"))));  // time zone not printable
  CHECK(decoded(decode_ecu_info(changed(49, "\x03"))).inverters_online == 3);  // a firmware glitch, kept as sent
  CHECK(decoded(decode_ecu_info(changed(49, "\x01"))).inverters_online == 1);

  Bytes longer = reply;
  longer.insert(longer.end() - 4, 0);
  CHECK(is_malformed(decode_ecu_info(restamped(longer))));
  CHECK(is_malformed(decode_ecu_info(Bytes{})));

  // A set cloud-connection time is read (the captures only have the D0 fill).
  const EcuInfo with_time = decoded(decode_ecu_info(changed(39, "\x20\x24\x09\x13\x12\x59\x32")));
  CHECK(with_time.last_cloud_connection == "2024-09-13 12:59:32");
  CHECK_FALSE(decoded(decode_ecu_info(changed(39, "\x20\x24\x13\x13\x12\x59\x32"))).last_cloud_connection);
}

TEST_CASE("apsystems codec: 0001 layout 02 (unverified offsets of the §4 note)") {
  Bytes body = bytes_of("216200012345");
  put_text(body, "02");
  put_be(body, 123456, 4);  // lifetime 12345.6 kWh
  put_be(body, 1500, 4);
  put_be(body, 1234, 4);    // today 12.34 kWh
  put_be(body, 4, 2);       // inverters at 39
  put_be(body, 3, 2);       // online at 41
  put_text(body, "\x01\x02\x03\x04\x05\x06");
  put_text(body, "017ECU_R_PRO_2.1.29D");
  const Bytes reply = reply_with("0001", body);
  REQUIRE_FALSE(invalid_reply(reply, Command::ecu_info));
  const EcuInfo info = decoded(decode_ecu_info(reply));
  CHECK(info.ecu_id == "216200012345");
  CHECK(ecu_model(info.ecu_id) == "ECU-R-Pro");
  CHECK(info.layout == "02");
  CHECK(info.lifetime_energy_kwh == 12345.6);
  CHECK(info.current_power_w == 1500);
  CHECK(info.today_energy_kwh == 12.34);
  CHECK(info.inverters == 4);
  CHECK(info.inverters_online == 3);
  CHECK(info.firmware == "ECU_R_PRO_2.1.29D");
  CHECK_FALSE(info.last_cloud_connection);
  CHECK(info.time_zone.empty());
  CHECK(info.zigbee_channel.empty());
  CHECK_FALSE(info.ethernet_mac);
  CHECK_FALSE(info.wifi_mac);

  Bytes too_long_firmware = body;
  std::copy_n("099", 3, too_long_firmware.begin() + 36);
  CHECK(is_malformed(decode_ecu_info(reply_with("0001", too_long_firmware))));
}

TEST_CASE("apsystems codec: 0002 status, header and counts") {
  const Realtime none = decoded(decode_realtime(reply_with("0002", bytes_of("01"))));
  CHECK(none.no_data());
  CHECK(none.status == "01");
  CHECK(none.records.empty());
  CHECK(none.problems.empty());
  CHECK_FALSE(none.timestamp);

  CHECK(is_malformed(decode_realtime(reply_with("0002", bytes_of("0x")))));
  CHECK(is_malformed(decode_realtime(reply_with("0002", bytes_of("00")))));  // no header
  CHECK(is_malformed(decode_realtime(Bytes{})));

  const Realtime empty = decoded(decode_realtime(realtime_reply(0, {})));
  CHECK(empty.records.empty());
  CHECK(empty.problems.empty());

  const Bytes reply = fixture("openhab_ds3_realtime_20230727.bin");
  for (std::uint16_t count : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{3}, std::uint16_t{0xFFFF}}) {
    CAPTURE(count);
    Bytes miscounted = reply;
    miscounted[17] = static_cast<std::uint8_t>(count >> 8);
    miscounted[18] = static_cast<std::uint8_t>(count & 0xFF);
    const Realtime r = decoded(decode_realtime(miscounted));
    CHECK(r.declared_records == count);
    CHECK(r.records.size() == 2);
    CHECK(r.records[1].decoded);
    REQUIRE(r.problems.size() == 1);
    CHECK(has_problem(r, "record count"));
  }

  Bytes unset_time = reply;
  std::fill(unset_time.begin() + 19, unset_time.begin() + 26, 0xD0);
  const Realtime unset = decoded(decode_realtime(unset_time));
  CHECK_FALSE(unset.timestamp);
  CHECK(unset.problems.empty());
  CHECK(unset.records.size() == 2);
  Bytes bad_flag = reply;
  bad_flag[16] = 'x';
  CHECK(is_malformed(decode_realtime(bad_flag)));
  Bytes impossible_time = reply;
  impossible_time[21] = 0x02;
  impossible_time[22] = 0x30;
  CHECK_FALSE(decoded(decode_realtime(impossible_time)).timestamp);
}

TEST_CASE("apsystems codec: 0002 records that do not end exactly at END: only whole records") {
  const Bytes reply = fixture("openhab_ds3_realtime_20230727.bin");
  Bytes extra = reply;
  extra.insert(extra.end() - 4, {0, 0, 0, 0, 0});
  const Realtime padded = decoded(decode_realtime(restamped(extra)));
  CHECK(padded.records.size() == 2);
  CHECK(padded.records[1].decoded);
  CHECK(has_problem(padded, "end exactly"));

  Bytes short_last = reply;
  short_last.erase(short_last.end() - 7, short_last.end() - 4);
  const Realtime cut = decoded(decode_realtime(restamped(short_last)));
  REQUIRE(cut.records.size() == 1);
  CHECK(cut.records[0].uid == "707000017197");
  CHECK(cut.records[0].decoded);
  CHECK(has_problem(cut, "end exactly"));
  CHECK(has_problem(cut, "record count"));
}

TEST_CASE("apsystems codec: an odd state byte counts as offline and is reported") {
  Bytes reply = fixture("openhab_ds3_realtime_20230727.bin");
  reply[26 + 6] = 2;
  const Realtime r = decoded(decode_realtime(reply));
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].state == 2);
  CHECK_FALSE(r.records[0].online());
  CHECK_FALSE(r.records[0].decoded);
  CHECK(r.records[0].powers_w.empty());
  CHECK(r.records[1].decoded);
  CHECK(r.records[1].powers_w == std::vector<std::uint16_t>{60, 0});
  REQUIRE(r.problems.size() == 1);
  CHECK(has_problem(r, "state byte"));
}

TEST_CASE("apsystems codec: type 00 is a registered inverter without data") {
  const Realtime r = decoded(decode_realtime(
      realtime_reply(3, {record("707000017197", 1, "00", {}), ds3_record("702000337185"),
                         record("706000000001", 0, "00", {})})));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].type_code == "00");
  CHECK(r.records[0].online());
  CHECK_FALSE(r.records[0].decoded);
  CHECK(r.records[0].raw.size() == 9);
  CHECK(r.records[1].decoded);
  CHECK(r.records[1].powers_w == std::vector<std::uint16_t>{55, 66});
  CHECK(r.records[1].voltages_v == std::vector<std::uint16_t>{237, 238});
  CHECK(r.records[2].uid == "706000000001");
  CHECK_FALSE(r.records[2].online());
}

TEST_CASE("apsystems codec: type 05 that tiles only as 21 bytes reads as two channels") {
  const Realtime r = decoded(decode_realtime(realtime_reply(
      3, {ds3_record("707000017197"), record("706000000001", 1, "05", {499, 130, 100, 230, 101, 231}),
          record("706000000002", 1, "05", {500, 131, 102, 232, 103, 233})})));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].decoded);
  for (std::size_t i = 1; i < 3; ++i) {
    const InverterRecord& rec = r.records[i];
    CHECK(rec.type_code == "05");
    CHECK(rec.decoded);
    CHECK(rec.raw.size() == 21);
  }
  CHECK(r.records[1].frequency_hz == 49.9);
  CHECK(r.records[1].temperature_c == 30);
  CHECK(r.records[1].powers_w == std::vector<std::uint16_t>{100, 101});
  CHECK(r.records[1].voltages_v == std::vector<std::uint16_t>{230, 231});
  CHECK(r.records[2].powers_w == std::vector<std::uint16_t>{102, 103});
}

TEST_CASE("apsystems codec: type 05 that tiles only as 27 bytes reads as four channels (QT2)") {
  const Realtime r = decoded(decode_realtime(realtime_reply(
      3, {ds3_record("707000017197"), record("906000000001", 1, "05", {500, 135, 100, 230, 101, 231, 102, 232, 103}),
          record("906000000002", 1, "05", {501, 136, 110, 240, 111, 241, 112, 242, 113})})));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].decoded);
  CHECK(r.records[1].raw.size() == 27);
  CHECK(r.records[1].decoded);
  CHECK(r.records[1].temperature_c == 35);
  CHECK(r.records[1].powers_w == std::vector<std::uint16_t>{100, 101, 102, 103});
  CHECK(r.records[1].voltages_v == std::vector<std::uint16_t>{230, 231, 232});
  CHECK(r.records[2].frequency_hz == 50.1);
  CHECK(r.records[2].powers_w == std::vector<std::uint16_t>{110, 111, 112, 113});
  CHECK(inverter_family(r.records[2].uid) == "QT2");
}

TEST_CASE("apsystems codec: type 05 that tiles both ways or neither: no 05 decoded, the walk stops at the first") {
  // 189 bytes = 9 × 21 = 7 × 27, with a state byte 1 and the code "05" wherever either reading
  // puts a record header (the two sets of positions never collide).
  Bytes ambiguous(189, 0);
  for (std::size_t at = 0; at < ambiguous.size(); at += 21) std::copy_n("\x01" "05", 3, ambiguous.begin() + static_cast<std::ptrdiff_t>(at + 6));
  for (std::size_t at = 0; at < ambiguous.size(); at += 27) std::copy_n("\x01" "05", 3, ambiguous.begin() + static_cast<std::ptrdiff_t>(at + 6));
  const Realtime both = decoded(decode_realtime(realtime_reply(8, {ds3_record("707000017197"), ambiguous})));
  REQUIRE(both.records.size() == 2);
  CHECK(both.records[0].uid == "707000017197");
  CHECK(both.records[0].decoded);
  CHECK(both.records[0].readable);
  // The first 05 keeps its UID and state (§11.4 stores its `online`), and the rest as its raw.
  CHECK(both.records[1].type_code == "05");
  CHECK(both.records[1].online());
  CHECK_FALSE(both.records[1].readable);
  CHECK_FALSE(both.records[1].decoded);
  CHECK(both.records[1].raw.size() == 189);
  CHECK(has_problem(both, "05"));

  const Realtime neither = decoded(decode_realtime(realtime_reply(
      2, {ds3_record("707000017197"), record("706000000001", 1, "05", {500, 130, 1, 2, 3, 4, 5, 6})})));
  REQUIRE(neither.records.size() == 2);
  CHECK(neither.records[0].type_code == "01");
  CHECK(neither.records[1].uid == "706000000001");
  CHECK_FALSE(neither.records[1].readable);
  CHECK(has_problem(neither, "05"));
}

TEST_CASE("apsystems codec: an unknown type code as the last record takes what remains") {
  const Realtime r = decoded(decode_realtime(realtime_reply(
      2, {ds3_record("707000017197"), record("970000000001", 1, "06", {500, 130, 1, 2, 3, 4, 5, 6})})));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 2);
  const InverterRecord& unknown = r.records[1];
  CHECK(unknown.uid == "970000000001");
  CHECK(unknown.type_code == "06");
  CHECK(unknown.online());
  CHECK_FALSE(unknown.readable);
  CHECK_FALSE(unknown.decoded);
  CHECK(unknown.powers_w.empty());
  CHECK(unknown.frequency_hz == 0);
  CHECK(unknown.raw.size() == 25);
}

TEST_CASE("apsystems codec: an unknown type code in mid-reply takes the one size with which the rest tiles") {
  const std::vector<std::uint16_t> words{500, 130, 0x0202, 0x0202, 0x0202, 0x0202, 0x0202};
  const Realtime r = decoded(decode_realtime(
      realtime_reply(3, {ds3_record("702000337185"), record("000000000001", 1, "07", words), ds3_record("707000017197")})));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[1].type_code == "07");
  CHECK(r.records[1].raw.size() == 23);
  CHECK_FALSE(r.records[1].decoded);
  CHECK(r.records[2].uid == "707000017197");
  CHECK(r.records[2].decoded);

  // The rest may end in an unknown last record of any size.
  const Realtime then_last = decoded(decode_realtime(realtime_reply(
      3, {ds3_record("702000337185"), record("000000000001", 1, "07", words),
          record("970000000001", 1, "06", {500, 130, 1, 2, 3, 4, 5, 6})})));
  CHECK(then_last.problems.empty());
  REQUIRE(then_last.records.size() == 3);
  CHECK(then_last.records[1].raw.size() == 23);
  CHECK(then_last.records[2].raw.size() == 25);

  // 25 bytes: no size of 9, 21, 23 or 27 lets the rest tile; the walk stops there.
  std::vector<std::uint16_t> longer = words;
  longer.push_back(0x0202);
  const Realtime stopped = decoded(decode_realtime(
      realtime_reply(3, {ds3_record("702000337185"), record("000000000001", 1, "07", longer), ds3_record("707000017197")})));
  REQUIRE(stopped.records.size() == 2);
  CHECK(stopped.records[0].uid == "702000337185");
  CHECK(stopped.records[1].uid == "000000000001");
  CHECK_FALSE(stopped.records[1].readable);
  CHECK(has_problem(stopped, "unknown type code"));

  // Followed by four type-00 records with zero UIDs, both 9 and 27 fit: undecidable, stopped.
  std::vector<Bytes> records{record("000000000001", 1, "07", {})};
  for (int i = 0; i < 4; ++i) records.push_back(record("000000000000", 0, "00", {}));
  const Realtime several = decoded(decode_realtime(realtime_reply(5, records)));
  REQUIRE(several.records.size() == 1);
  CHECK(several.records[0].type_code == "07");
  CHECK(has_problem(several, "unknown type code"));
}

TEST_CASE("apsystems codec: 400 records of one unknown type in a row are all sized") {
  std::vector<Bytes> records;
  for (int i = 0; i < 400; ++i) {
    const std::string uid = "9700000" + std::to_string(10000 + i);
    records.push_back(record(uid, 1, "06", {500, 130, 20, 230, 21, 22, 23}));
  }
  const Bytes reply = realtime_reply(400, records);
  REQUIRE(reply.size() < 10000);
  const Realtime r = decoded(decode_realtime(reply));
  CHECK(r.problems.empty());
  REQUIRE(r.records.size() == 400);
  CHECK(std::all_of(r.records.begin(), r.records.end(),
                    [](const InverterRecord& rec) { return rec.raw.size() == 23 && !rec.decoded; }));
  CHECK(r.records.back().uid == "970000010399");
}

TEST_CASE("apsystems codec: 9-byte unknown records that fit as 9 and as 27 bytes: the walk stops at the first") {
  const std::vector<Bytes> records(400, record("000000000000", 0, "99", {}));
  const Realtime r = decoded(decode_realtime(realtime_reply(0xFFFF, records)));
  REQUIRE(r.records.size() == 1);  // the first, kept unreadable with the rest as its raw
  CHECK_FALSE(r.records[0].readable);
  CHECK(has_problem(r, "unknown type code"));
  CHECK_FALSE(has_problem(r, "gave up"));
}

TEST_CASE("apsystems codec: a look-ahead that branches past its budget gives up and is reported") {
  // One stray byte at the end: no parse tiles, so every (offset, index) the 9- and 27-byte
  // branches reach is tried until the budget is spent.
  std::vector<Bytes> records(1100, record("000000000000", 0, "99", {}));
  records.push_back({0x07});
  const Realtime r = decoded(decode_realtime(realtime_reply(0xFFFF, records)));
  REQUIRE(r.records.size() == 1);
  CHECK_FALSE(r.records[0].readable);
  CHECK(has_problem(r, "gave up"));
  CHECK(has_problem(r, "unknown type code"));
}

TEST_CASE("apsystems codec: 0030 entries, no data and odd lengths") {
  const Signal none = decoded(decode_signal(reply_with("0030", bytes_of("01"))));
  CHECK(none.no_data());
  CHECK(none.levels.empty());
  const Signal empty = decoded(decode_signal(reply_with("0030", bytes_of("00"))));
  CHECK_FALSE(empty.no_data());
  CHECK(empty.levels.empty());
  CHECK(is_malformed(decode_signal(reply_with("0030", bytes_of("0x")))));
  CHECK(is_malformed(decode_signal(Bytes{})));

  const Bytes reply = fixture("openhab_signal.bin");
  for (std::size_t drop = 1; drop < 7; ++drop) {
    CAPTURE(drop);
    Bytes odd = reply;
    odd.erase(odd.end() - 4 - static_cast<std::ptrdiff_t>(drop), odd.end() - 4);
    CHECK(is_malformed(decode_signal(restamped(odd))));
  }
  Bytes three = reply;
  three.insert(three.end() - 4, {0x80, 0x20, 0x00, 0x10, 0x44, 0x13, 0xFF});
  const Signal s = decoded(decode_signal(restamped(three)));
  REQUIRE(s.levels.size() == 3);
  CHECK(s.levels[2].uid == "802000104413");
  CHECK(s.levels[2].level == 255);
}

TEST_CASE("apsystems codec: 20000 randomly damaged fixtures decode without a crash") {
  std::vector<Bytes> seeds;
  for (const auto& f : reply_fixtures()) seeds.push_back(fixture(f.name));
  std::mt19937 random(8899);
  const auto below = [&random](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
  for (int round = 0; round < 20000; ++round) {
    Bytes bytes = seeds[below(seeds.size())];
    const std::size_t changes = 1 + below(4);
    for (std::size_t i = 0; i < changes && !bytes.empty(); ++i) {
      switch (below(4)) {
        case 0: bytes[below(bytes.size())] = static_cast<std::uint8_t>(below(256)); break;
        case 1: bytes.resize(below(bytes.size() + 1)); break;
        case 2: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(below(bytes.size() + 1)),
                             static_cast<std::uint8_t>(below(256))); break;
        default: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(below(bytes.size()))); break;
      }
    }
    decode_everything(bytes);
    if (bytes.size() >= length_prefix) decode_everything(restamped(bytes));
  }
}
