// Numeric samples and the canonical AlphaESS mapping (interfaces.md §4, alphaess.md §6.5).
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/metrics.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace sunkeep;
using namespace sunkeep::alphaess;

namespace {

std::map<std::string, Reading> samples_by_name(const std::string& json) {
  std::string error;
  const auto fields = parse_json_object(json, error);
  REQUIRE(fields);
  std::map<std::string, Reading> out;
  for (auto& s : numeric_samples(*fields)) out[s.name] = s;
  return out;
}

}  // namespace

TEST_CASE("metrics: the 2024 realtime push maps to the canonical metrics with signs and units") {
  const auto s = samples_by_name(test::json_fixture("alphaess/tidalvirus_2024-03-03_cmd16_payload.json"));
  CHECK(s.at("Pbat").value == doctest::Approx(539.44));
  CHECK(s.at("Pbat").unit == "W");
  CHECK_FALSE(s.at("Pbat").canonical);
  CHECK(s.at("pv_power").value == doctest::Approx(0.0));
  CHECK(s.at("grid_power").value == doctest::Approx(-4.0));  // exporting 4 W
  CHECK(s.at("battery_power").value == doctest::Approx(539.44));  // discharging
  CHECK(s.at("load_power").value == doctest::Approx(416.0));  // the spec's worked example
  CHECK(s.at("load_power").canonical);
  CHECK(s.at("battery_soc").value == doctest::Approx(38.0));
  CHECK(s.at("battery_soc").unit == "%");
  CHECK(s.count("SN") == 0);
  CHECK(s.count("Time") == 0);
  // Realtime pushes carry no counters or battery voltage: those canonical metrics are omitted.
  CHECK(s.count("pv_energy_total") == 0);
  CHECK(s.count("battery_voltage") == 0);
}

TEST_CASE("metrics: the 2021 five-minute record: counters / battery / packed cells") {
  const auto s = samples_by_name(test::json_fixture("alphaess/tidalvirus_1-1-5_5min_dump.json"));
  CHECK(s.at("pv_power").value == doctest::Approx(1243 + 1228 + 1071));
  CHECK(s.at("grid_power").value == doctest::Approx(-4));
  CHECK(s.at("battery_power").value == doctest::Approx(-708.864));  // charging
  CHECK(s.at("battery_current").value == doctest::Approx(-14.2));
  CHECK(s.at("battery_voltage").value == doctest::Approx(49.92));
  CHECK(s.at("inverter_temperature").value == doctest::Approx(38));
  CHECK(s.at("inverter_temperature").unit == "°C");
  CHECK(s.at("grid_frequency").value == doctest::Approx(50.0));
  CHECK(s.at("pv_energy_total").value == doctest::Approx(433.0));
  CHECK(s.at("pv_energy_total").unit == "kWh");
  CHECK(s.at("grid_import_energy_total").value == doctest::Approx(60.0));
  CHECK(s.at("grid_export_energy_total").value == doctest::Approx(128.4));
  CHECK(s.at("battery_charge_energy_total").value == doctest::Approx(143.9));
  CHECK(s.count("CSQ") == 0);
  CHECK(s.count("EmsStatus") == 0);
}

TEST_CASE("metrics: packed cell values split into module / cell/sensor and value") {
  const auto s = samples_by_name(
      R"({"VcellLow":"17042704","VcellHigh":"16911559","TcellHigh":"16908309","TcellLow":"16973823"})");
  CHECK(s.at("VcellLow").value == doctest::Approx(17042704));
  CHECK(s.at("VcellLow_module").value == 1);
  CHECK(s.at("VcellLow_cell").value == 4);
  CHECK(s.at("VcellLow_value").value == 3344);
  CHECK(s.at("VcellLow_value").unit == "mV");
  CHECK(s.at("VcellHigh_cell").value == 2);
  CHECK(s.at("VcellHigh_value").value == 3271);
  CHECK(s.at("TcellHigh_sensor").value == 2);
  CHECK(s.at("TcellHigh_value").value == 21);
  CHECK(s.at("TcellHigh_value").unit == "°C");
  CHECK(s.at("TcellLow_value").value == -1);  // 0xFFFF read as signed 16-bit
}

TEST_CASE("metrics: a canonical metric with a missing or empty input is omitted / never faked") {
  const auto s = samples_by_name(R"({"Ppv1":"100","Ppv2":"","PmeterL1":"1","PmeterL2":"2"})");
  CHECK(s.count("pv_power") == 0);
  CHECK(s.count("grid_power") == 0);
  CHECK(s.at("Ppv1").value == 100);
}
