// Rendering /metrics.
#include "server/metrics_page.hpp"

#include <array>
#include <string_view>

namespace sunkeep::server {

namespace {

using metrics::Labels;
using metrics::MetricType;
using metrics::PrometheusText;

constexpr double joules_per_kwh = 3'600'000;

// When a canonical metric is shown.
enum class Shown { while_fresh, whenever_known };

struct CanonicalFamily {
  std::string_view metric;  // the canonical name (interfaces.md §4)
  std::string_view family;
  std::string_view help;
  MetricType type;
  double scale;
  Shown shown;
};

constexpr std::array canonical_families{
    CanonicalFamily{"pv_power", "sunkeep_pv_power_watts", "PV generation now.", MetricType::gauge, 1, Shown::while_fresh},
    CanonicalFamily{"grid_power", "sunkeep_grid_power_watts", "Grid power now, + import, - export.", MetricType::gauge, 1,
                    Shown::while_fresh},
    CanonicalFamily{"battery_power", "sunkeep_battery_power_watts", "Battery power now, + discharging, - charging.",
                    MetricType::gauge, 1, Shown::while_fresh},
    CanonicalFamily{"load_power", "sunkeep_load_power_watts", "Household consumption now.", MetricType::gauge, 1,
                    Shown::while_fresh},
    CanonicalFamily{"ac_power", "sunkeep_ac_power_watts", "Inverter AC output now.", MetricType::gauge, 1,
                    Shown::while_fresh},
    CanonicalFamily{"battery_soc", "sunkeep_battery_soc_ratio", "Battery state of charge (0-1).", MetricType::gauge,
                    0.01, Shown::while_fresh},
    CanonicalFamily{"signal_strength", "sunkeep_signal_strength_ratio", "The device's radio link quality (0-1).",
                    MetricType::gauge, 0.01, Shown::while_fresh},
    CanonicalFamily{"battery_voltage", "sunkeep_battery_voltage_volts", "Battery voltage.", MetricType::gauge, 1,
                    Shown::while_fresh},
    CanonicalFamily{"battery_current", "sunkeep_battery_current_amperes", "Battery current, + discharging.",
                    MetricType::gauge, 1, Shown::while_fresh},
    CanonicalFamily{"battery_temperature", "sunkeep_battery_temperature_celsius", "Battery temperature.",
                    MetricType::gauge, 1, Shown::while_fresh},
    CanonicalFamily{"inverter_temperature", "sunkeep_inverter_temperature_celsius", "Inverter temperature.",
                    MetricType::gauge, 1, Shown::while_fresh},
    CanonicalFamily{"grid_frequency", "sunkeep_grid_frequency_hertz", "Grid frequency.", MetricType::gauge, 1,
                    Shown::while_fresh},
    CanonicalFamily{"pv_energy_total", "sunkeep_pv_energy_joules_total", "Lifetime PV generation.", MetricType::counter,
                    joules_per_kwh, Shown::whenever_known},
    CanonicalFamily{"grid_import_energy_total", "sunkeep_grid_import_energy_joules_total",
                    "Lifetime energy imported from the grid.", MetricType::counter, joules_per_kwh, Shown::whenever_known},
    CanonicalFamily{"grid_export_energy_total", "sunkeep_grid_export_energy_joules_total",
                    "Lifetime energy exported to the grid.", MetricType::counter, joules_per_kwh, Shown::whenever_known},
    CanonicalFamily{"battery_charge_energy_total", "sunkeep_battery_charge_energy_joules_total",
                    "Lifetime energy charged into the battery.", MetricType::counter, joules_per_kwh,
                    Shown::whenever_known},
    CanonicalFamily{"battery_discharge_energy_total", "sunkeep_battery_discharge_energy_joules_total",
                    "Lifetime energy discharged from the battery.", MetricType::counter, joules_per_kwh,
                    Shown::whenever_known},
    CanonicalFamily{"pv_energy_today", "sunkeep_pv_energy_today_joules", "PV generation today (resets at local midnight).",
                    MetricType::gauge, joules_per_kwh, Shown::while_fresh},
};

// The families of one device each, in the page's order.
struct DeviceFamilies {
  PrometheusText info, up, last_seen, clock_offset;
  std::array<PrometheusText, canonical_families.size()> canonical;
};

Labels device_labels(const DeviceState& d) { return {{"device", d.vendor + ":" + d.serial}, {"vendor", d.vendor}}; }

void add_device(DeviceFamilies& out, const DeviceState& d, bool online, UtcMillis now) {
  const Labels labels = device_labels(d);
  out.info.sample("sunkeep_device_info",
                  {labels[0], labels[1], {"model", d.model.value_or("")}, {"firmware", d.firmware.value_or("")},
                   {"parent", d.parent.value_or("")}},
                  std::int64_t{1});
  out.up.sample("sunkeep_device_up", labels, std::int64_t{online ? 1 : 0});
  out.last_seen.sample("sunkeep_device_last_seen_timestamp_seconds", labels, static_cast<double>(d.last_seen) / 1000.0);
  if (d.clock_offset_ms) {
    out.clock_offset.sample("sunkeep_device_clock_offset_seconds", labels, static_cast<double>(*d.clock_offset_ms) / 1000.0);
  }
  for (std::size_t i = 0; i < canonical_families.size(); ++i) {
    const CanonicalFamily& family = canonical_families[i];
    const auto it = d.metrics.find(family.metric);
    if (it == d.metrics.end() || !it->second.canonical) continue;
    const LatestValue& v = it->second;
    if (family.shown == Shown::while_fresh && !(online && v.fresh(now))) continue;
    if (family.shown == Shown::whenever_known && !v.exposed) continue;
    const double value = family.shown == Shown::whenever_known ? *v.exposed : v.value;
    out.canonical[i].sample(family.family, labels, value * family.scale);
  }
}

void append_family(std::string& page, std::string_view name, std::string_view help, MetricType type,
                   const PrometheusText& samples) {
  if (samples.text().empty()) return;
  PrometheusText header;
  header.family(name, help, type);
  page += header.text();
  page += samples.text();
}

}  // namespace

std::string MetricsPage::metrics_text(UtcMillis now) const {
  DeviceFamilies families;
  latest_.visit([&](const DeviceState& d) {
    add_device(families, d, live_.online(d.vendor, d.serial, d.last_seen, now), now);
  });
  std::string page;
  append_family(page, "sunkeep_device_info", "A device sunkeep knows, with its model, firmware and parent.",
                MetricType::gauge, families.info);
  append_family(page, "sunkeep_device_up", "1 while the device is online (as the API's online).", MetricType::gauge,
                families.up);
  append_family(page, "sunkeep_device_last_seen_timestamp_seconds", "When data last arrived from the device.",
                MetricType::gauge, families.last_seen);
  append_family(page, "sunkeep_device_clock_offset_seconds", "The device clock minus the server clock.",
                MetricType::gauge, families.clock_offset);
  for (std::size_t i = 0; i < canonical_families.size(); ++i) {
    const CanonicalFamily& f = canonical_families[i];
    append_family(page, f.family, f.help, f.type, families.canonical[i]);
  }
  PrometheusText server;
  registry_.write(server);
  page += server.text();
  return page;
}

}  // namespace sunkeep::server
