// SMA values → readings and events (sma-speedwire.md §9.5): the inverter decoder's canonical
// sums and class gating, NaN, the phase-current ranges and status events; the meter's readings
// from the fixtures; the meter gate's thinning and decreasing-counter rule; the archive form.
#include "protocol/sma/meter_gate.hpp"
#include "protocol/sma/observation.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/sma_device.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace sunkeep;
using namespace sunkeep::sma;
using sunkeep::test::Bytes;

namespace {

// The records of a simulated reply holding `records`.
std::vector<Record> decoded(const std::vector<Bytes>& records) {
  const Bytes request = build_query(RequestHeader{}, Query::energy);
  const Bytes reply = test::sma_reply(request, Address{378, 1}, 0, records);
  const auto packet = parse_inverter_packet(reply);
  REQUIRE(packet);
  const auto out = decode_records(*packet);
  REQUIRE(out);
  return *out;
}

std::optional<double> find(const std::vector<Reading>& readings, const std::string& name, bool canonical) {
  for (const auto& r : readings) {
    if (r.name == name && r.canonical == canonical) return r.value;
  }
  return std::nullopt;
}

InverterDecoder decoder_of_class(std::uint32_t device_class) {
  InverterDecoder decoder;
  decoder.decode(Query::type_label, decoded({test::status_record(0x821F, {{device_class, true}}),
                                             test::status_record(0x8220, {{9345, true}})}));
  return decoder;
}

Bytes sma_fixture(const std::string& name) { return test::fixture_bytes("sma/" + name); }

}  // namespace

TEST_CASE("sma mapping: the type label gives model and class, the version the firmware") {
  InverterDecoder decoder;
  const Decoded type = decoder.decode(Query::type_label, decoded({test::text_record(0x821E, "SN: 1"),
                                                                  test::status_record(0x821F, {{8009, true}}),
                                                                  test::status_record(0x8220, {{9345, true}})}));
  CHECK(type.model == "SMA type 9345, class 8009");
  CHECK(decoder.device_class() == 8009U);
  CHECK(decoder.decode(Query::software_version, decoded({test::version_record(0x03100A04)})).firmware == "03.10.10.R");
}

TEST_CASE("sma mapping: PV power sums the valid MPPTs, only for solar and hybrid inverters") {
  const auto dc = decoded({test::spot_record(0x251E, 1, 87), test::spot_record(0x251E, 2, test::nan32)});
  InverterDecoder unknown;
  const Decoded d = unknown.decode(Query::dc_power, dc);
  CHECK(find(d.readings, "pv_power", true) == 87.0);  // one valid addend is enough
  CHECK(find(d.readings, "dc_power_1", false) == 87.0);
  CHECK_FALSE(find(d.readings, "dc_power_2", false));  // NaN: no value at all
  CHECK(find(decoder_of_class(8009).decode(Query::dc_power, dc).readings, "pv_power", true) == 87.0);
  CHECK_FALSE(find(decoder_of_class(8007).decode(Query::dc_power, dc).readings, "pv_power", true));
  const auto all_nan = decoded({test::spot_record(0x251E, 1, test::nan32), test::spot_record(0x251E, 2, 0xFFFFFFFF)});
  CHECK_FALSE(find(unknown.decode(Query::dc_power, all_nan).readings, "pv_power", true));
}

TEST_CASE("sma mapping: yields are PV energy on a class 8001 inverter only") {
  const auto energy = decoded({test::counter_record(0x2601, 33304161), test::counter_record(0x2622, 6391)});
  const Decoded solar = decoder_of_class(8001).decode(Query::energy, energy);
  CHECK(find(solar.readings, "pv_energy_total", true) == doctest::Approx(33304.161));
  CHECK(find(solar.readings, "pv_energy_today", true) == doctest::Approx(6.391));
  const Decoded hybrid = decoder_of_class(8009).decode(Query::energy, energy);
  CHECK(find(hybrid.readings, "yield_total", false) == doctest::Approx(33304.161));
  CHECK_FALSE(find(hybrid.readings, "pv_energy_total", true));
  const auto nan = decoded({test::counter_record(0x2601, 0x8000000000000000ULL)});
  CHECK(InverterDecoder{}.decode(Query::energy, nan).readings.empty());
}

TEST_CASE("sma mapping: AC power from the total, else the sum of three valid phases in the same cycle") {
  const auto phases = decoded({test::spot_record(0x4640, 1, 56), test::spot_record(0x4641, 1, 55), test::spot_record(0x4642, 1, 57)});
  InverterDecoder decoder;
  decoder.cycle_started();
  const Decoded total = decoder.decode(Query::ac_power_total, decoded({test::spot_record(0x263F, 1, 170)}));
  CHECK(find(total.readings, "ac_power", true) == 170.0);
  CHECK_FALSE(find(decoder.decode(Query::ac_power_phases, phases).readings, "ac_power", true));
  decoder.cycle_started();
  decoder.decode(Query::ac_power_total, decoded({test::spot_record(0x263F, 1, test::nan32)}));
  CHECK(find(decoder.decode(Query::ac_power_phases, phases).readings, "ac_power", true) == 168.0);
  decoder.cycle_started();
  const auto two = decoded({test::spot_record(0x4640, 1, 56), test::spot_record(0x4641, 1, test::nan32), test::spot_record(0x4642, 1, 57)});
  CHECK_FALSE(find(decoder.decode(Query::ac_power_phases, two).readings, "ac_power", true));
}

TEST_CASE("sma mapping: scales, and one phase current where a reply has both ranges") {
  InverterDecoder decoder;
  const Decoded d = decoder.decode(Query::ac_volt_amp, decoded({test::spot_record(0x4648, 1, 22874, 0), test::spot_record(0x464B, 1, 39665, 0),
                                                                test::spot_record(0x4650, 1, 100, 0), test::spot_record(0x4653, 1, 292, 0),
                                                                test::spot_record(0x4651, 1, 111, 0), test::spot_record(0x4654, 1, test::nan32, 0),
                                                                test::spot_record(0x464E, 1, 29, 0)}));
  CHECK(find(d.readings, "ac_voltage_l1", false) == doctest::Approx(228.74));
  CHECK(find(d.readings, "ac_voltage_l1_l2", false) == doctest::Approx(396.65));
  CHECK(std::count_if(d.readings.begin(), d.readings.end(), [](const Reading& r) { return r.name == "ac_current_l1"; }) == 1);
  CHECK(find(d.readings, "ac_current_l1", false) == doctest::Approx(0.292));
  CHECK(find(d.readings, "ac_current_l2", false) == doctest::Approx(0.111));  // the later range is NaN here
  CHECK(d.readings.size() == 4);  // 0x464E is not stored
  const Decoded rest = decoder.decode(Query::grid_frequency, decoded({test::spot_record(0x4657, 1, 5001, 0)}));
  CHECK(find(rest.readings, "grid_frequency", true) == doctest::Approx(50.01));
  const Decoded battery = decoder.decode(Query::battery_info, decoded({test::spot_record(0x495B, 7, 251), test::spot_record(0x495C, 7, 5230),
                                                                       test::spot_record(0x495D, 7, static_cast<std::uint32_t>(-1500)),
                                                                       test::spot_record(0x491E, 7, 12)}));
  CHECK(find(battery.readings, "battery_temp", false) == doctest::Approx(25.1));
  CHECK(find(battery.readings, "battery_volt", false) == doctest::Approx(52.3));
  CHECK(find(battery.readings, "battery_amp", false) == doctest::Approx(-1.5));
  CHECK(find(battery.readings, "battery_cycles", false) == 12.0);
  CHECK(std::none_of(battery.readings.begin(), battery.readings.end(), [](const Reading& r) { return r.canonical; }));
}

TEST_CASE("sma mapping: a status change is an event, the first value after start is not") {
  InverterDecoder decoder;
  const auto ok = decoded({test::status_record(0x2148, {{307, true}, {455, false}})});
  const auto warning = decoded({test::status_record(0x2148, {{307, false}, {455, true}})});
  Decoded first = decoder.decode(Query::device_status, ok);
  CHECK(find(first.readings, "device_status", false) == 307.0);
  CHECK(first.events.empty());
  CHECK(decoder.decode(Query::device_status, ok).events.empty());
  const Decoded changed = decoder.decode(Query::device_status, warning);
  REQUIRE(changed.events.size() == 1);
  CHECK(changed.events[0].source == "DeviceStatus");
  CHECK(changed.events[0].code == "455");
  CHECK(changed.events[0].text == "device status Warning");
  const Decoded relay = decoder.decode(Query::grid_relay, decoded({test::status_record(0x4164, {{51, true}})}));
  CHECK(find(relay.readings, "grid_relay", false) == 51.0);
}

TEST_CASE("sma mapping: meter readings from the EM 2.0 and SHM 2.0 captures") {
  const auto em = decode_meter(sma_fixture("emeter_6069_mlasch_pkt0.bin"));
  REQUIRE(em);
  const MeterReadings m = meter_readings(*em);
  CHECK(m.model == "SMA Energy Meter 2.0");
  CHECK(m.firmware == "2.0.18.R");
  CHECK(find(m.readings, "grid_power", true) == doctest::Approx(1054.6));
  CHECK(find(m.readings, "grid_import_energy_total", true) == doctest::Approx(24.9821).epsilon(1e-6));
  CHECK(find(m.readings, "grid_export_energy_total", true) == doctest::Approx(0.3617).epsilon(1e-6));
  CHECK_FALSE(find(m.readings, "grid_frequency", true));
  CHECK(find(m.readings, "voltage_l1", false) == doctest::Approx(226.278));
  CHECK(find(m.readings, "voltage_l3", false) == doctest::Approx(224.927));
  CHECK(find(m.readings, "current_l1", false) == doctest::Approx(1.556));
  CHECK(find(m.readings, "cos_phi", false) == doctest::Approx(0.966));
  CHECK(find(m.readings, "power_l2", false) == doctest::Approx(592.7));
  const auto shm = decode_meter(sma_fixture("shm2_6081_danieltwagner_first.bin"));
  REQUIRE(shm);
  const MeterReadings s = meter_readings(*shm);
  CHECK(s.model == "SMA Sunny Home Manager 2.0");
  CHECK(find(s.readings, "grid_power", true) == doctest::Approx(-6994.5));
  CHECK(find(s.readings, "grid_frequency", true) == doctest::Approx(50.017));
  CHECK(find(s.readings, "power_l1", false) == doctest::Approx(-1837.2));
  CHECK(find(s.readings, "current_l1", false) == doctest::Approx(7.841));
}

TEST_CASE("sma mapping: the meter gate stores one sample per interval and holds back a decreasing counter for an hour") {
  MeterGate gate(std::chrono::seconds(10));
  const auto readings = [](double power, double import) {
    return std::vector<Reading>{{"grid_power", "W", power, true}, {"grid_import_energy_total", "kWh", import, true}};
  };
  auto first = gate.offer("1", readings(100, 24.98), 0);
  REQUIRE(first);
  CHECK(first->readings.size() == 2);
  CHECK_FALSE(gate.offer("1", readings(101, 24.99), 9'999));
  CHECK(gate.offer("2", readings(5, 1.0), 5'000));  // another meter has its own interval
  auto lower = gate.offer("1", readings(0, 0.57), 10'000);
  REQUIRE(lower);
  CHECK(lower->readings.size() == 1);  // the power; the counter is held back
  REQUIRE(lower->events.size() == 1);
  CHECK(lower->events[0].code == "counter_decreased");
  CHECK(lower->events[0].text->find("grid_import_energy_total") != std::string::npos);
  auto still = gate.offer("1", readings(0, 0.58), 20'000);
  REQUIRE(still);
  CHECK(still->readings.size() == 1);
  CHECK(still->events.empty());  // one event per drop
  auto baseline = gate.offer("1", readings(0, 0.60), 10'000 + 3'600'000);
  REQUIRE(baseline);
  CHECK(baseline->readings.size() == 2);  // lasted an hour: the new baseline
  auto next = gate.offer("1", readings(0, 0.61), 10'000 + 3'610'000);
  REQUIRE(next);
  CHECK(next->readings.size() == 2);
}

TEST_CASE("sma mapping: the meter gate takes a previous run's last counter as its baseline") {
  MeterGate gate(std::chrono::seconds(10));
  gate.remember("1", "grid_import_energy_total", 24.98);
  auto lower = gate.offer("1", {{"grid_import_energy_total", "kWh", 0.57, true}}, 0);
  REQUIRE(lower);
  CHECK(lower->readings.empty());
  CHECK(lower->events.size() == 1);
  gate.remember("1", "grid_import_energy_total", 100);  // a value already seen in this run wins
  CHECK(gate.offer("1", {{"grid_import_energy_total", "kWh", 0.6, true}}, 3'600'000)->readings.size() == 1);
}

TEST_CASE("sma mapping: archived login datagrams have their password zeroed and the command is kept") {
  const Bytes login = sma_fixture("lsw_login_req.bin");
  const RawFrame frame = archived(login, FrameDirection::to_device);
  CHECK(frame.command == 0xFFFD040C);
  CHECK((frame.flags & frame_flag::redacted) != 0);
  CHECK(std::all_of(frame.bytes.begin() + 62, frame.bytes.begin() + 74, [](std::uint8_t b) { return b == 0; }));
  CHECK(std::equal(frame.bytes.begin(), frame.bytes.begin() + 62, login.begin()));
  const RawFrame meter = archived(sma_fixture("emeter_6069_mlasch_pkt0.bin"), FrameDirection::from_device);
  CHECK(meter.command == 0x6069);
  CHECK(meter.flags == 0);
  CHECK(archived(sma_fixture("lsw_query_spot_dc_power_resp.bin"), FrameDirection::from_device).command == 0x53800201);
}
