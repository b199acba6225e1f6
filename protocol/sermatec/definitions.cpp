// Sermatec field tables (sermatec.md §5.7), written for sunkeep with absolute offsets.
#include "protocol/sermatec/definitions.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace sunkeep::sermatec {

namespace {

using F = FieldDef;
using T = FieldType;

F i16(std::uint16_t off, double scale, std::string_view unit, std::string key) {
  return {.offset = off, .size = 2, .type = T::int_, .scale = scale, .unit = unit, .key = key};
}
F u16(std::uint16_t off, double scale, std::string_view unit, std::string key) {
  return {.offset = off, .size = 2, .type = T::uint16, .scale = scale, .unit = unit, .key = key};
}
F l32(std::uint16_t off, double scale, std::string_view unit, std::string key) {
  return {.offset = off, .size = 4, .type = T::long_, .scale = scale, .unit = unit, .key = key};
}
F flag(std::uint16_t off, std::string key) { return {.offset = off, .size = 2, .type = T::hex_flag, .key = key}; }
F text(std::uint16_t off, std::uint8_t len, std::string key) {
  return {.offset = off, .size = len, .type = T::string, .key = key};
}
F bit(std::uint16_t off, std::uint8_t n, std::string key) {
  return {.offset = off, .size = 2, .type = T::bit, .key = key, .bit_from = n, .bit_to = static_cast<std::uint8_t>(n + 1)};
}
F bits(std::uint16_t off, std::uint8_t from, std::uint8_t to, std::string key) {
  return {.offset = off, .size = 2, .type = T::bit_range, .key = key, .bit_from = from, .bit_to = to};
}
F words(std::uint16_t off, std::uint8_t len, std::string key) {
  return {.offset = off, .size = len, .type = T::one_position, .key = key};
}
F reserved(std::uint16_t off, std::uint8_t len) { return {.offset = off, .size = len, .type = T::preserve}; }
F series(std::uint16_t off, std::uint8_t size, std::uint8_t count, double scale, std::string_view unit, std::string key) {
  return {.offset = off, .size = size, .type = T::repeat, .scale = scale, .unit = unit, .key = key, .count = count};
}
F weekday(std::uint16_t off, std::uint8_t from, std::string key) {
  return {.offset = off, .size = 2, .type = T::weekday, .key = key, .bit_from = from, .bit_to = static_cast<std::uint8_t>(from + 2)};
}

constexpr double d1 = 0.1;
constexpr double d2 = 0.01;
constexpr double d3 = 0.001;

Layout system_info() {
  return {0x98, 50, {}, {i16(0, 1, "", "sys_protocol_version"), i16(2, 1, "", "sys_battery_brand"),
                         i16(4, 1, "", "sys_model_code"), text(6, 26, "sys_serial"), text(32, 18, "sys_serial_ln")}};
}

Layout battery() {
  return {0x0A, 30, {}, {
      u16(0, d1, "V", "bat_voltage"), i16(2, d1, "A", "bat_current"), i16(4, d1, "°C", "bat_temperature"),
      u16(6, 1, "%", "bat_soc"), i16(8, 1, "%", "bat_soh"), i16(10, 1, "", "bat_status"),
      u16(12, d1, "A", "bat_max_charge_current"), u16(14, d1, "A", "bat_max_discharge_current"),
      u16(16, d1, "V", "bat_charge_cutoff_voltage"), u16(18, d1, "V", "bat_discharge_cutoff_voltage"),
      u16(20, 1, "", "bat_cycles"), u16(22, 1, "", "bat_pressure"), u16(24, 1, "", "bat_warning"),
      u16(26, 1, "", "bat_error"), u16(28, 1, "", "bat_comm_status")}};
}

std::vector<F> cabinet_fields() {
  return {
      u16(0, d1, "V", "cab_pv1_voltage"), i16(2, d1, "A", "cab_pv1_current"), i16(4, 1, "W", "cab_pv1_power"),
      u16(6, d1, "V", "cab_pv2_voltage"), i16(8, d1, "A", "cab_pv2_current"), i16(10, 1, "W", "cab_pv2_power"),
      u16(12, d1, "V", "cab_inv_a_voltage"), i16(14, d1, "A", "cab_inv_a_current"),
      u16(16, d1, "V", "cab_grid_a_voltage"), u16(18, d1, "V", "cab_grid_ab_voltage"), i16(20, d1, "A", "cab_grid_a_current"),
      u16(22, d1, "V", "cab_inv_b_voltage"), i16(24, d1, "A", "cab_inv_b_current"),
      u16(26, d1, "V", "cab_grid_b_voltage"), u16(28, d1, "V", "cab_grid_bc_voltage"), i16(30, d1, "A", "cab_grid_b_current"),
      u16(32, d1, "V", "cab_inv_c_voltage"), i16(34, d1, "A", "cab_inv_c_current"),
      u16(36, d1, "V", "cab_grid_c_voltage"), u16(38, d1, "V", "cab_grid_ca_voltage"), i16(40, d1, "A", "cab_grid_c_current"),
      u16(42, d2, "Hz", "cab_grid_frequency"), i16(44, d3, "", "cab_grid_power_factor"),
      i16(46, 1, "W", "cab_grid_active_power"), i16(48, 1, "var", "cab_grid_reactive_power"),
      i16(50, 1, "VA", "cab_grid_apparent_power"), i16(52, d1, "A", "cab_battery_current"),
      i16(54, d1, "V", "cab_battery_voltage"), u16(56, d1, "V", "cab_bus_pos_voltage"),
      u16(58, d1, "V", "cab_bus_neg_voltage"), u16(60, d1, "V", "cab_bus_voltage"), i16(62, 1, "W", "cab_dc_power"),
      u16(64, d1, "°C", "cab_internal_temperature"), u16(66, d1, "V", "cab_bus_aux1_voltage"),
      u16(68, d1, "V", "cab_bus_aux2_voltage"), u16(70, 1, "", "cab_device_type"), u16(72, 1, "", "cab_dsp_version_high"),
      u16(74, 1, "", "cab_dsp_version_low"), u16(76, 1, "", "cab_parallel_address"), u16(78, 1, "%", "cab_efficiency"),
      i16(80, d1, "A", "cab_battery_current_1"), i16(82, d1, "A", "cab_battery_current_2"),
      i16(84, d1, "°C", "cab_module_a_temperature"), i16(86, d1, "°C", "cab_module_b_temperature"),
      i16(88, d1, "°C", "cab_module_c_temperature"), u16(90, d1, "V", "cab_backup_a_voltage"),
      u16(92, d1, "V", "cab_backup_b_voltage"), u16(94, d1, "V", "cab_backup_c_voltage"),
      u16(96, d2, "Hz", "cab_backup_frequency"), i16(98, d1, "A", "cab_backup_a_current"),
      i16(100, d1, "A", "cab_backup_b_current"), i16(102, d1, "A", "cab_backup_c_current"),
      i16(104, d3, "", "cab_backup_power_factor"), i16(106, 1, "W", "cab_backup_active_power"),
      i16(108, 1, "var", "cab_backup_reactive_power"), i16(110, 1, "VA", "cab_backup_apparent_power")};
}

Layout cabinet_112() { return {0x0B, 112, {}, cabinet_fields()}; }

Layout cabinet_140() {
  Layout l{0x0B, 140, {}, cabinet_fields()};
  const std::vector<F> parallel{
      i16(112, d2, "kW", "cab_par_inv_active_power"), i16(114, d2, "kvar", "cab_par_inv_reactive_power"),
      i16(116, d2, "kVA", "cab_par_inv_apparent_power"), i16(118, d2, "kW", "cab_par_load_active_power"),
      i16(120, d2, "kvar", "cab_par_load_reactive_power"), i16(122, d2, "kVA", "cab_par_load_apparent_power"),
      i16(124, d2, "kW", "cab_par_load_a_power"), i16(126, d2, "kW", "cab_par_load_b_power"),
      i16(128, d2, "kW", "cab_par_load_c_power"), i16(130, d2, "kW", "cab_par_pv_power"),
      i16(132, d2, "kW", "cab_par_battery_power"), i16(134, d1, "A", "cab_par_battery_current"),
      i16(136, d1, "A", "cab_par_battery_charge_current"), i16(138, d1, "A", "cab_par_battery_discharge_current")};
  l.fields.insert(l.fields.end(), parallel.begin(), parallel.end());
  return l;
}

Layout running_status() {
  return {0x0C, 4, {}, {
      bit(0, 14, "run_grid_lost"), bit(0, 13, "run_derating"), bit(0, 12, "run_parallel"), bit(0, 11, "run_master"),
      bit(0, 10, "run_parallel_battery_type"), bits(0, 8, 10, "run_battery_state"), bits(0, 5, 8, "run_ac_state"),
      bit(0, 4, "run_relay_selftest"), bits(0, 1, 4, "run_ac_mode"), bit(0, 0, "run_on"), u16(0, 1, "", "run_status_word"),
      bits(2, 10, 13, "run_pv_selftest_step"), bits(2, 7, 10, "run_dc_selftest_step"), bits(2, 4, 7, "run_ac_selftest_step"),
      bits(2, 2, 4, "run_dc_state"), bits(2, 0, 2, "run_pv_state"), u16(2, 1, "", "run_pv_status_word"),
      bits(2, 13, 16, "run_parallel_units")}};
}

Layout link_state() {
  return {0x0D, 6, {}, {i16(0, 1, "", "link_bms_status"), i16(2, 1, "", "link_meter_status"),
                        i16(4, 1, "W", "link_remote_load_power")}};
}

Layout bms_alarms_12() { return {0x1E, 12, {}, {words(0, 12, "bms_alarm_word")}}; }
Layout bms_alarms_16() {
  return {0x1E, 16, {}, {words(0, 12, "bms_alarm_word"), words(12, 2, "bms_alarm_summary"), reserved(14, 2)}};
}

Layout faults() {
  return {0x1F, 12, {}, {words(0, 2, "fault_word_0"), words(2, 2, "fault_word_1"), words(4, 2, "fault_word_2"),
                         words(6, 2, "fault_word_3"), words(8, 2, "fault_word_4"), reserved(10, 2)}};
}

Layout energy_totals() {
  return {0x99, 244, {0x99, 0x9A, 0x9B, 0x9C}, {
      i16(0, d1, "kWh", "sum_pv_today"), l32(2, 1, "", "sum_pv_total"), i16(6, d1, "kWh", "sum_load_today"),
      l32(8, 1, "", "sum_load_total"), i16(12, d1, "cur", "sum_saving_today"), l32(14, d1, "cur", "sum_saving_total"),
      series(18, 2, 48, d1, "", "sum_pv_day"), series(114, 2, 31, 1, "", "sum_pv_month"),
      series(176, 4, 12, 1, "", "sum_pv_year"), series(224, 4, 5, 1, "", "sum_pv_years")}};
}

Layout energy_log(std::uint8_t code, const std::string& prefix) {
  auto key = [&prefix](const char* suffix) { return prefix + suffix; };
  return {code, 232, {}, {
      i16(0, d1, "kWh", key("today")), l32(2, 1, "", key("total")), series(6, 2, 48, d1, "", key("day")),
      series(102, 2, 31, 1, "", key("month")), series(164, 4, 12, 1, "", key("year")), series(212, 4, 5, 1, "", key("years"))}};
}

Layout grid_battery_energy() {
  return {0x9C, 20, {}, {
      i16(0, d1, "kWh", "gb_grid_import_today"), i16(2, d1, "kWh", "gb_charge_today"),
      i16(4, d1, "kWh", "gb_discharge_today"), l32(6, 1, "", "gb_grid_import_total"),
      l32(10, d1, "kWh", "gb_charge_total"), l32(14, d1, "kWh", "gb_discharge_total"),
      i16(18, 1, "W", "gb_remote_load_power")}};
}

std::vector<F> settings_common() {
  return {i16(0, d1, "cur", "set_price_tip"), i16(2, d1, "cur", "set_price_peak"), i16(4, d1, "cur", "set_price_flat"),
          i16(6, d1, "cur", "set_price_valley"), i16(8, 1, "W", "set_grid_power_limit"),
          i16(10, 1, "", "set_command_power"), i16(12, 1, "", "set_operating_mode"), i16(14, 1, "", "set_pv_grid_switch"),
          i16(16, 1, "", "set_voltage_drop_method"), flag(18, "set_anti_backflow"), i16(20, 1, "", "set_command_charge"),
          i16(22, 1, "%", "set_ongrid_soc_min"), i16(24, 1, "", "set_tariff_periods"),
          series(26, 2, 16, 1, "min", "set_period_start"), series(58, 2, 16, 1, "min", "set_period_end"),
          series(90, 2, 16, 1, "", "set_period_band")};
}

// The eight per-band flags, the grid code and the battery/meter settings, from `first_flag`.
std::vector<F> band_flags(std::uint16_t at, bool with_tip_charge) {
  std::vector<F> f;
  if (with_tip_charge) f.push_back(i16(at, 1, "", "set_tip_charge_lt10"));
  f.push_back(i16(at + 2, 1, "", "set_tip_discharge_gt20"));
  f.push_back(i16(at + 4, 1, "", "set_peak_charge_lt10"));
  f.push_back(i16(at + 6, 1, "", "set_peak_discharge_gt20"));
  f.push_back(i16(at + 8, 1, "", "set_flat_charge_lt10"));
  f.push_back(i16(at + 10, 1, "", "set_flat_discharge_gt20"));
  f.push_back(i16(at + 12, 1, "", "set_valley_charge_lt10"));
  f.push_back(i16(at + 14, 1, "", "set_valley_discharge_gt20"));
  return f;
}

std::vector<F> grid_and_battery_settings(std::uint16_t at) {
  return {i16(at, 1, "", "set_grid_code"), i16(at + 2, 1, "", "set_dc_battery_type"), i16(at + 4, 1, "Ah", "set_lead_acid_ah"),
          i16(at + 6, 1, "", "set_battery_protocol"), i16(at + 8, 1, "", "set_meter_protocol")};
}

Layout settings(std::uint16_t length, std::vector<std::uint8_t> answers, std::vector<std::vector<F>> parts) {
  Layout l{0x95, length, std::move(answers), settings_common()};
  for (auto& part : parts) l.fields.insert(l.fields.end(), part.begin(), part.end());
  return l;
}

Layout settings_a() { return settings(148, {}, {band_flags(122, true), grid_and_battery_settings(138)}); }
Layout settings_b() {
  return settings(194, {}, {{flag(122, "set_meter_detection"), flag(124, "set_three_phase_unbalanced"),
                             i16(126, 1, "%", "set_offgrid_soc_min"), reserved(128, 40)},
                            grid_and_battery_settings(168), band_flags(178, true)});
}
Layout settings_c() {
  return settings(148, {0x95, 0x9D}, {{i16(122, d3, "", "set_power_factor")}, band_flags(122, false),
                                      grid_and_battery_settings(138)});
}

Layout settings2_259() {
  return {0x9D, 46, {}, {flag(0, "set2_meter_detection"), flag(2, "set2_three_phase_unbalanced"),
                         i16(4, 1, "%", "set2_offgrid_soc_min"), reserved(6, 40)}};
}

Layout settings2_500(bool generator) {
  return {0x9D, 46, {}, {
      flag(0, "set2_meter_detection"), flag(2, "set2_three_phase_unbalanced"), i16(4, 1, "%", "set2_offgrid_soc_min"),
      i16(6, 1, "%", "set2_microgrid_soc_hysteresis"), i16(8, 1, "", "set2_ac_pv_source"),
      i16(10, 1, "", "set2_backup_priority"),
      generator ? i16(12, d1, "kW", "set2_generator_rated_power") : flag(12, "set2_bypass_enable"),
      flag(14, "set2_backup_output"), i16(16, 1, "", "set2_charge_power_limit"), i16(18, 1, "", "set2_discharge_power_limit"),
      flag(20, "set2_battery_voltage_settable"), i16(22, d1, "V", "set2_battery_voltage_max"),
      i16(24, d1, "V", "set2_battery_voltage_min"), flag(26, "set2_shadow_scan"), flag(28, "set2_battery_activation"),
      i16(30, d1, "V", "set2_lead_acid_equalize_voltage"), i16(32, d1, "V", "set2_lead_acid_float_voltage"),
      i16(34, d1, "V", "set2_lead_acid_eod_voltage"), i16(36, d1, "A", "set2_grid_charge_current_max"),
      i16(38, 1, "", "set2_parallel_battery_type"), i16(40, 1, "", "set2_parallel_flag"),
      i16(42, 1, "", "set2_parallel_address"), flag(44, "set2_battery_power_manual_limit")}};
}

Layout drm() {
  std::vector<F> f;
  for (std::uint8_t n = 0; n <= 8; ++n) f.push_back(bit(0, n, "drm_" + std::to_string(n)));
  return {0xA1, 2, {}, f};
}

std::vector<F> forced_block(std::uint16_t at, const std::string& p) {
  auto key = [&p](const char* suffix) { return p + suffix; };
  return {bits(at, 0, 2, key("enable")), weekday(at, 2, key("sun")), weekday(at, 4, key("mon")), weekday(at, 6, key("tue")),
          weekday(at, 8, key("wed")), weekday(at, 10, key("thu")), weekday(at, 12, key("fri")), weekday(at, 14, key("sat")),
          i16(at + 2, 1, "%", key("soc_limit")), i16(at + 4, 1, "", key("periods")),
          series(at + 6, 2, 4, 1, "min", key("start")), series(at + 14, 2, 4, 1, "min", key("end")), reserved(at + 22, 8)};
}

Layout forced_schedule() {
  Layout l{0xA2, 60, {}, forced_block(0, "fc_")};
  const auto discharge = forced_block(30, "fd_");
  l.fields.insert(l.fields.end(), discharge.begin(), discharge.end());
  return l;
}

Layout network() {
  return {0xB1, 91, {}, {
      {.offset = 0, .size = 1, .type = T::int_, .key = "net_wifi_mode"}, text(1, 30, "net_ssid"),
      {.offset = 31, .size = 30, .type = T::string, .secret = true}, text(61, 20, "net_server_ip"),
      text(81, 10, "net_server_port")}};
}

struct Layer {
  int version;
  std::vector<Layout> layouts;
  std::vector<std::uint8_t> poll_list;  // empty: the previous layer's list stays
};

const std::vector<Layer>& layers() {
  static const std::vector<Layer> all{
      {0, {system_info()}, {0x98}},
      {252, {battery(), cabinet_112(), running_status(), bms_alarms_12(), faults(), energy_totals(),
             energy_log(0x9A, "gridlog_"), energy_log(0x9B, "loadlog_"), settings_a()},
       {0x0C, 0x0A, 0x0B, 0x1E, 0x1F, 0x99, 0x95}},
      {258, {link_state(), bms_alarms_16(), grid_battery_energy(), settings_b(), drm()},
       {0x0C, 0x0A, 0x0B, 0x0D, 0x1E, 0x1F, 0x99, 0x95}},
      {259, {settings_c(), settings2_259()}, {}},
      {500, {cabinet_140(), settings2_500(false), forced_schedule(), network()}, {}},
      {603, {settings2_500(true)}, {}},
  };
  return all;
}

}  // namespace

int Definitions::effective_version(int pcu_version) {
  return (pcu_version == 991 || pcu_version == 998) ? 601 : pcu_version;
}

Definitions::Definitions(int pcu_version) : version_(effective_version(pcu_version)) {
  std::map<std::uint8_t, const Layout*> chosen;
  for (const auto& layer : layers()) {
    if (layer.version > version_) break;
    for (const auto& l : layer.layouts) chosen[l.code] = &l;
  }
  for (const auto& [code, layout] : chosen) layouts_.push_back(layout);
}

const Layout* Definitions::layout(std::uint8_t code) const {
  const auto it = std::find_if(layouts_.begin(), layouts_.end(), [code](const Layout* l) { return l->code == code; });
  return it == layouts_.end() ? nullptr : *it;
}

std::vector<std::uint8_t> Definitions::answers_to(std::uint8_t code) const {
  const Layout* l = layout(code);
  if (l && !l->answers.empty()) return l->answers;
  return {code};
}

std::vector<std::uint8_t> Definitions::poll_list() const {
  std::vector<std::uint8_t> list;
  for (const auto& layer : layers()) {
    if (layer.version > version_) break;
    if (!layer.poll_list.empty() && layer.version > 0) list = layer.poll_list;
  }
  return list;
}

}  // namespace sunkeep::sermatec
