// The APsystems mapping (apsystems-ecu.md §11.3–§11.4) on the captured replies: the ECU's vendor
// and canonical readings, each inverter's, offline and type-00 and unknown records, the 0002
// timestamp de-duplication with the 0030 levels that follow it, and the energy glitch filters.
#include "protocol/apsystems/observation.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace sunkeep;
using namespace sunkeep::apsystems;

namespace {

Bytes reply_fixture(const std::string& name) {
  const std::string raw = test::fixture("apsystems/" + name);
  return {raw.begin(), raw.end()};
}

template <class T, class Decode>
T decoded(const Bytes& reply, Decode decode) {
  auto result = decode(reply);
  REQUIRE(std::holds_alternative<T>(result));
  return std::get<T>(result);
}

EcuInfo info(const std::string& name) { return decoded<EcuInfo>(reply_fixture(name), decode_ecu_info); }
Realtime realtime(const std::string& name) { return decoded<Realtime>(reply_fixture(name), decode_realtime); }
Signal signal_levels(const std::string& name) { return decoded<Signal>(reply_fixture(name), decode_signal); }

// name → value, with canonical names prefixed "=".
std::map<std::string, double> values(const DeviceUpdate& update) {
  std::map<std::string, double> out;
  for (const auto& r : update.readings) out[(r.canonical ? "=" : "") + r.name] = r.value;
  return out;
}

const DeviceUpdate& inverter(const Update& update, const std::string& uid) {
  for (const auto& i : update.inverters) {
    if (i.serial == uid) return i;
  }
  FAIL("no update for " << uid);
  throw std::logic_error("unreachable");
}

// A 0002 reply around `records` with a valid length field.
Bytes realtime_reply(const std::vector<Bytes>& records, std::uint16_t count, std::array<std::uint8_t, 7> time) {
  Bytes body{'0', '0', '0', '1', static_cast<std::uint8_t>(count >> 8), static_cast<std::uint8_t>(count & 0xFF)};
  body.insert(body.end(), time.begin(), time.end());
  for (const auto& r : records) body.insert(body.end(), r.begin(), r.end());
  const std::size_t size = 13 + body.size() + 4;
  char length[5];
  std::snprintf(length, sizeof length, "%04zu", size - 1);
  std::string head = std::string("APS11") + length + "0002";
  Bytes reply(head.begin(), head.end());
  reply.insert(reply.end(), body.begin(), body.end());
  for (char ch : std::string("END\n")) reply.push_back(static_cast<std::uint8_t>(ch));
  return reply;
}

Bytes record(std::array<std::uint8_t, 6> uid, std::uint8_t state, const std::string& type, std::size_t words) {
  Bytes r(uid.begin(), uid.end());
  r.push_back(state);
  r.push_back(static_cast<std::uint8_t>(type[0]));
  r.push_back(static_cast<std::uint8_t>(type[1]));
  for (std::size_t i = 0; i < words; ++i) {
    r.push_back(0x01);
    r.push_back(static_cast<std::uint8_t>(0xF4 + i));
  }
  return r;
}

}  // namespace

TEST_CASE("apsystems mapping: 0001 gives the ECU's power, energies, inverter counts, model and firmware") {
  EcuMapper mapper;
  const Update update = mapper.ecu_info(info("openhab_ecub_systeminfo.bin"), 1'000'000);
  REQUIRE(update.ecu);
  CHECK(update.ecu->serial == "216300090693");
  CHECK(update.ecu->model == "ECU-B");
  CHECK(update.ecu->firmware == "ECU_B_1.2.26E");
  const auto v = values(*update.ecu);
  CHECK(v.at("current_power") == 836);
  CHECK(v.at("=pv_power") == 836);
  CHECK(v.at("today_energy") == doctest::Approx(3.43));
  CHECK(v.at("=pv_energy_today") == doctest::Approx(3.43));
  CHECK(v.at("lifetime_energy") == doctest::Approx(115.0));
  CHECK(v.at("=pv_energy_total") == doctest::Approx(115.0));
  CHECK(v.at("inverters") == 2);
  CHECK(v.at("inverters_online") == 2);
  CHECK(update.inverters.empty());
}

TEST_CASE("apsystems mapping: each online inverter gets its channels, frequency, temperature and canonical sums") {
  EcuMapper mapper;
  const Update update = mapper.realtime(realtime("openhab_ds3_realtime_20230727.bin"));
  REQUIRE(update.inverters.size() == 2);
  const auto first = values(inverter(update, "707000017197"));
  CHECK(first.at("power_1") == 55);
  CHECK(first.at("power_2") == 66);
  CHECK(first.at("voltage_1") == 237);
  CHECK(first.at("voltage_2") == 237);
  CHECK(first.at("frequency") == doctest::Approx(50.0));
  CHECK(first.at("temperature") == 32);
  CHECK(first.at("online") == 1);
  CHECK(first.at("=pv_power") == 121);
  CHECK(first.at("=grid_frequency") == doctest::Approx(50.0));
  CHECK(first.at("=inverter_temperature") == 32);
  CHECK(inverter(update, "707000017197").model == "DS3 (type 01)");
  CHECK(values(inverter(update, "702000337185")).at("=pv_power") == 60);

  const Update yc1000 = mapper.realtime(realtime("ksheumaker6_ecuc_yc1000_realtime.bin"));
  REQUIRE(yc1000.inverters.size() == 11);
  double sum = 0;
  for (const auto& i : yc1000.inverters) sum += values(i).at("=pv_power");
  CHECK(sum == 11091);
  const auto yc = values(inverter(yc1000, "502000006223"));
  CHECK(yc.at("power_4") == 253);
  CHECK(yc.at("voltage_3") == 234);
  CHECK_FALSE(yc.contains("voltage_4"));
  CHECK(inverter(yc1000, "502000006223").model == "YC1000 (type 02)");
}

TEST_CASE("apsystems mapping: an offline inverter stores online = 0 and nothing else") {
  EcuMapper mapper;
  const Update update = mapper.realtime(realtime("openhab_ds3_realtime_20230806_one_offline.bin"));
  const auto offline = values(inverter(update, "702000337185"));
  CHECK(offline == std::map<std::string, double>{{"online", 0}});
  CHECK(values(inverter(update, "707000017197")).at("=pv_power") == 83);
}

TEST_CASE("apsystems mapping: an unchanged 0002 timestamp stores nothing, and that cycle's 0030 neither") {
  EcuMapper mapper;
  mapper.cycle_started();
  CHECK_FALSE(mapper.realtime(realtime("openhab_ds3_realtime_20230806_one_offline.bin")).duplicate);
  const Update levels = mapper.signal(signal_levels("openhab_signal.bin"));
  // Only the inverter online in that 0002 gets its level.
  REQUIRE(levels.inverters.size() == 1);
  const auto level = values(levels.inverters[0]);
  CHECK(levels.inverters[0].serial == "707000017197");
  CHECK(level.at("signal_level") == 211);
  CHECK(level.at("=signal_strength") == doctest::Approx(82.745).epsilon(0.0001));

  mapper.cycle_started();
  const Update again = mapper.realtime(realtime("openhab_ds3_realtime_20230806_one_offline.bin"));
  CHECK(again.duplicate);
  CHECK(again.inverters.empty());
  CHECK(again.inverter_states.size() == 2);
  CHECK(mapper.signal(signal_levels("openhab_signal.bin")).inverters.empty());

  mapper.cycle_started();
  CHECK(mapper.realtime(realtime("openhab_ds3_realtime_20230727.bin")).inverters.size() == 2);
  CHECK(mapper.signal(signal_levels("openhab_signal.bin")).inverters.size() == 2);
}

TEST_CASE("apsystems mapping: type 00 and unknown types store online only and are reported once") {
  const std::array<std::uint8_t, 7> time{0x20, 0x24, 0x01, 0x02, 0x03, 0x04, 0x05};
  const std::array<std::uint8_t, 7> later{0x20, 0x24, 0x01, 0x02, 0x03, 0x09, 0x05};
  const Bytes first = realtime_reply({record({0x70, 0x70, 0, 0, 0, 1}, 1, "00", 0), record({0x99, 0x10, 0, 0, 0, 2}, 1, "77", 6)}, 2, time);
  const Bytes second = realtime_reply({record({0x70, 0x70, 0, 0, 0, 1}, 1, "00", 0), record({0x99, 0x10, 0, 0, 0, 2}, 1, "77", 6)}, 2, later);
  EcuMapper mapper;
  const Update update = mapper.realtime(decoded<Realtime>(first, decode_realtime));
  REQUIRE(update.inverters.size() == 2);
  CHECK(values(update.inverters[0]) == std::map<std::string, double>{{"online", 1}});
  REQUIRE(update.inverters[0].events.size() == 1);
  CHECK(update.inverters[0].events[0].code == "registered_no_data");
  CHECK(values(update.inverters[1]) == std::map<std::string, double>{{"online", 1}});
  REQUIRE(update.inverters[1].events.size() == 1);
  CHECK(update.inverters[1].events[0].code == "unknown_type");
  CHECK(update.inverters[1].events[0].text->find("991000000002013737") != std::string::npos);
  CHECK(update.unknown_records == 1);

  const Update repeat = mapper.realtime(decoded<Realtime>(second, decode_realtime));
  REQUIRE(repeat.inverters.size() == 2);
  CHECK(repeat.inverters[0].events.empty());
  CHECK(repeat.inverters[1].events.empty());
  CHECK(repeat.unknown_records == 1);
}

TEST_CASE("apsystems mapping: a lifetime energy of 0 or below the last, and a glitching today's 0, are not stored") {
  EcuMapper mapper;
  mapper.remember_lifetime(120.0);
  EcuInfo ecu = info("openhab_ecub_systeminfo.bin");  // 115.0 kWh: below what was stored before
  Update update = mapper.ecu_info(ecu, 0);
  CHECK_FALSE(values(*update.ecu).contains("lifetime_energy"));
  REQUIRE(update.ecu->events.size() == 1);
  CHECK(update.ecu->events[0].code == "lifetime_energy_glitch");
  ecu.lifetime_energy_kwh = 0;
  update = mapper.ecu_info(ecu, 1000);
  CHECK_FALSE(values(*update.ecu).contains("=pv_energy_total"));
  CHECK(update.ecu->events.empty());  // reported once
  ecu.lifetime_energy_kwh = 121.5;
  CHECK(values(*mapper.ecu_info(ecu, 2000).ecu).at("=pv_energy_total") == doctest::Approx(121.5));

  // today: 3.43, then 0 with inverters online 10 minutes later → dropped; an hour later → stored.
  ecu.today_energy_kwh = 0;
  CHECK_FALSE(values(*mapper.ecu_info(ecu, 600'000).ecu).contains("today_energy"));
  CHECK(values(*mapper.ecu_info(ecu, 2000 + 3'600'000).ecu).at("=pv_energy_today") == 0);
  // With no inverter online a 0 is believed, even right after a reading above 0.
  ecu.today_energy_kwh = 1.5;
  CHECK(values(*mapper.ecu_info(ecu, 3'700'000).ecu).at("today_energy") == 1.5);
  ecu.today_energy_kwh = 0;
  CHECK_FALSE(values(*mapper.ecu_info(ecu, 3'800'000).ecu).contains("today_energy"));
  ecu.inverters_online = 0;
  CHECK(values(*mapper.ecu_info(ecu, 3'900'000).ecu).at("today_energy") == 0);
}

TEST_CASE("apsystems mapping: match status 01 stores nothing") {
  EcuMapper mapper;
  Realtime none;
  none.status = "01";
  const Update update = mapper.realtime(none);
  CHECK(update.inverters.empty());
  CHECK(update.inverter_states.empty());
  Signal no_levels;
  no_levels.status = "01";
  CHECK(mapper.signal(no_levels).inverters.empty());
}

TEST_CASE("apsystems mapping: an unset or invalid 0002 timestamp counts as changed") {
  const std::array<std::uint8_t, 7> unset{0xD0, 0xD0, 0xD0, 0xD0, 0xD0, 0xD0, 0xD0};
  const Bytes reply = realtime_reply({record({0x70, 0x70, 0, 0, 0, 1}, 1, "01", 6)}, 1, unset);
  EcuMapper mapper;
  for (int cycle = 0; cycle < 3; ++cycle) {
    mapper.cycle_started();
    const Update update = mapper.realtime(decoded<Realtime>(reply, decode_realtime));
    CHECK_FALSE(update.duplicate);
    REQUIRE(update.inverters.size() == 1);
    CHECK(values(update.inverters[0]).at("=pv_power") == 0x1F6 + 0x1F8);  // P1 and P2
  }
}

TEST_CASE("apsystems mapping: a type-05 record whose size cannot be decided stores online and is reported as unknown") {
  const std::array<std::uint8_t, 7> time{0x20, 0x24, 0x01, 0x02, 0x03, 0x04, 0x05};
  // One 05 record of 25 bytes: neither 21 nor 27 tiles.
  const Bytes reply = realtime_reply({record({0x70, 0x70, 0, 0, 0, 1}, 1, "01", 6), record({0x90, 0x60, 0, 0, 0, 1}, 1, "05", 8)}, 2, time);
  EcuMapper mapper;
  const Update update = mapper.realtime(decoded<Realtime>(reply, decode_realtime));
  REQUIRE(update.inverters.size() == 2);
  CHECK(values(update.inverters[1]) == std::map<std::string, double>{{"online", 1}});
  REQUIRE(update.inverters[1].events.size() == 1);
  CHECK(update.inverters[1].events[0].code == "unknown_type");
  CHECK(update.unknown_records == 1);
}
