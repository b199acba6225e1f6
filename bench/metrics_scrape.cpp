// The server time of a /metrics scrape: the page rendered from a latest-values cache holding
// `--devices` devices of AlphaESS's size (18 canonical and 60 vendor metrics each, all fresh) and
// the server's metrics registry, timed over `--scrapes` renders (no network).
#include "server/latest_values.hpp"
#include "server/metrics_page.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace sunkeep;

namespace {

constexpr UtcMillis now = 1'750'000'000'000;

const std::vector<std::string> canonical{"pv_power", "grid_power", "battery_power", "load_power", "ac_power",
                                         "battery_soc", "signal_strength", "battery_voltage", "battery_current",
                                         "battery_temperature", "inverter_temperature", "grid_frequency",
                                         "pv_energy_total", "grid_import_energy_total", "grid_export_energy_total",
                                         "battery_charge_energy_total", "battery_discharge_energy_total",
                                         "pv_energy_today"};

struct AllOnline final : api::LiveStatus {
  [[nodiscard]] bool connected(const std::string&, const std::string&) const override { return true; }
};

Observation device_said(int device) {
  Observation seen{.vendor = "alphaess", .serial = "AL" + std::to_string(100000 + device), .peer = "127.0.0.1:1",
                   .received = now, .cadence_ms = 10'000};
  for (const auto& name : canonical) seen.readings.push_back({name, "W", 1000.0 + device, true});
  for (int v = 0; v < 60; ++v) seen.readings.push_back({"Vendor" + std::to_string(v), "W", v * 1.5, false});
  return seen;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("sunkeep /metrics render benchmark");
  int devices = 1000;
  int scrapes = 200;
  app.add_option("--devices", devices, "devices in the cache");
  app.add_option("--scrapes", scrapes, "renders timed");
  CLI11_PARSE(app, argc, argv);

  metrics::Registry registry;
  server::EnergyGuard guard(registry);
  server::LatestValues latest(guard);
  for (int d = 0; d < devices; ++d) latest.consume(device_said(d));
  // The server's own families, as a running server has them (a few dozen).
  for (int f = 0; f < 40; ++f) registry.counter("sunkeep_bench_family_" + std::to_string(f) + "_total", "help", {{"listener", "x"}});
  AllOnline live;
  server::MetricsPage page(registry, latest, live);

  std::vector<double> ms;
  std::size_t bytes = 0;
  for (int i = 0; i < scrapes; ++i) {
    const auto start = std::chrono::steady_clock::now();
    bytes = page.metrics_text(now + 1000).size();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("metrics page: %d devices, %zu bytes; render median %.2f ms, p99 %.2f ms, max %.2f ms (%d renders)\n",
              devices, bytes, ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), scrapes);
  return 0;
}
