// Rendering /metrics.
#include "server/metrics_page.hpp"

#include <array>
#include <optional>
#include <string_view>
#include <vector>

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

// One device as the page's families see it.
struct DeviceView {
  const DeviceState& state;
  Labels labels;  // device, vendor
  bool online;
};

// A family's header and its samples, one per device that has one; nothing when none has.
template <class Sample>
void write_family(PrometheusText& page, std::string_view name, std::string_view help, MetricType type,
                  const std::vector<DeviceView>& devices, Sample&& sample) {
  const std::size_t start = page.mark();
  page.family(name, help, type);
  const std::size_t header_end = page.mark();
  for (const DeviceView& device : devices) sample(device);
  if (page.mark() == header_end) page.truncate(start);
}

// The canonical metric's value as the family shows it now, if it does.
std::optional<double> shown_value(const CanonicalFamily& family, const DeviceView& device, UtcMillis now) {
  const auto it = device.state.metrics.find(family.metric);
  if (it == device.state.metrics.end() || !it->second.canonical) return std::nullopt;
  const LatestValue& v = it->second;
  if (family.shown == Shown::whenever_known) return v.exposed;
  if (!device.online || !v.fresh(now)) return std::nullopt;
  return v.value;
}

void write_device_families(PrometheusText& page, const std::vector<DeviceView>& devices) {
  write_family(page, "sunkeep_device_info", "A device sunkeep knows, with its model, firmware and parent.",
               MetricType::gauge, devices, [&](const DeviceView& d) {
                 const DeviceState& s = d.state;
                 page.sample("sunkeep_device_info",
                             {d.labels[0], d.labels[1], {"model", s.model.value_or("")},
                              {"firmware", s.firmware.value_or("")}, {"parent", s.parent.value_or("")}},
                             std::int64_t{1});
               });
  write_family(page, "sunkeep_device_up", "1 while the device is online (as the API's online).", MetricType::gauge,
               devices, [&](const DeviceView& d) { page.sample("sunkeep_device_up", d.labels, std::int64_t{d.online}); });
  write_family(page, "sunkeep_device_last_seen_timestamp_seconds", "When data last arrived from the device.",
               MetricType::gauge, devices, [&](const DeviceView& d) {
                 page.sample("sunkeep_device_last_seen_timestamp_seconds", d.labels,
                             static_cast<double>(d.state.last_seen) / 1000.0);
               });
  write_family(page, "sunkeep_device_clock_offset_seconds", "The device clock minus the server clock.",
               MetricType::gauge, devices, [&](const DeviceView& d) {
                 if (!d.state.clock_offset_ms) return;
                 page.sample("sunkeep_device_clock_offset_seconds", d.labels,
                             static_cast<double>(*d.state.clock_offset_ms) / 1000.0);
               });
}

void write_canonical_families(PrometheusText& page, const std::vector<DeviceView>& devices, UtcMillis now) {
  for (const CanonicalFamily& family : canonical_families) {
    write_family(page, family.family, family.help, family.type, devices, [&](const DeviceView& d) {
      if (const auto value = shown_value(family, d, now)) page.sample(family.family, d.labels, *value * family.scale);
    });
  }
}

}  // namespace

std::string MetricsPage::metrics_text(UtcMillis now) const {
  PrometheusText page;
  page.reserve(size_hint_.load(std::memory_order_relaxed));
  latest_.read([&](const LatestValues::Devices& devices) {
    std::vector<DeviceView> views;
    views.reserve(devices.size());
    for (const auto& [id, state] : devices) {
      views.push_back({state, {{"device", id}, {"vendor", state.vendor}},
                       live_.online(state.vendor, state.serial, state.last_seen, now)});
    }
    write_device_families(page, views);
    write_canonical_families(page, views, now);
  });
  registry_.write(page);
  size_hint_.store(page.mark() + page.mark() / 8, std::memory_order_relaxed);
  return page.take();
}

}  // namespace sunkeep::server
