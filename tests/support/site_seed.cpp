// The seeded home history.
#include "tests/support/site_seed.hpp"

#include "storage/schema.hpp"
#include "storage/store.hpp"

#include <span>
#include <string>

namespace sunkeep::test {

namespace {

bool migrated(storage::Connection& db) {
  storage::configure_durable(db);
  storage::migrate(db);
  return true;
}

// Writes samples straight into a database before a server opens it.
struct Seeder {
  explicit Seeder(const TempDir& dir) : db(dir.file("sunkeep.db")) { db.exec("BEGIN IMMEDIATE"); }
  ~Seeder() {
    store.flush_device_state();
    db.exec("COMMIT");
    db.exec("BEGIN IMMEDIATE");
    while (store.move_batches_to_samples(100'000) > 0) {
    }
    db.exec("COMMIT");
  }
  Seeder(const Seeder&) = delete;
  Seeder& operator=(const Seeder&) = delete;

  storage::DeviceId device(const std::string& vendor, const std::string& serial) {
    return store.upsert_device(vendor, serial, day_a, "127.0.0.1:1");
  }
  void put(storage::DeviceId device, UtcMillis t, const std::string& name, const std::string& unit, double value,
           bool canonical = true) {
    const Reading r{name, unit, value, canonical};
    store.insert_samples(device, t, std::span(&r, 1));
  }

  storage::Connection db;
  bool ready = migrated(db);
  storage::Store store{db};
};

}  // namespace

void seed_march(const TempDir& dir) {
  Seeder s(dir);
  const auto e1 = s.device("alphaess", "E1");
  const auto s1 = s.device("sma", "S1");
  // pv_energy_total: +1 kWh an hour. A: 100 → 124 (24). B (23 h): 125 … 133, then a reset to 0
  // at B+10h that stays, 1 … 13 at B+23h = C (9 + 0 + 13 = 22). C: none. D: back at D+1h with 40,
  // +1 an hour to 63 at E (40 − 13 + 23 = 50).
  for (int h = 0; h <= 24; ++h) s.put(e1, day_a + h * hour_ms, "pv_energy_total", "kWh", 100 + h);
  for (int h = 1; h <= 9; ++h) s.put(e1, day_b + h * hour_ms, "pv_energy_total", "kWh", 124 + h);
  for (int h = 10; h <= 23; ++h) s.put(e1, day_b + h * hour_ms, "pv_energy_total", "kWh", h - 10);
  for (int h = 1; h <= 24; ++h) s.put(e1, day_d + h * hour_ms, "pv_energy_total", "kWh", 39 + h);
  // grid_import_energy_total: +0.5 an hour from 10, read as 0 once at A+5h (a glitch: 13 at A+6h
  // is back above 12). A: 12. B: 11.5. D: 46 at D+1h (from 33.5 at C), to 57.5 at E: 24.
  for (int h = 0; h <= 24; ++h) s.put(e1, day_a + h * hour_ms, "grid_import_energy_total", "kWh", h == 5 ? 0 : 10 + 0.5 * h);
  for (int h = 1; h <= 23; ++h) s.put(e1, day_b + h * hour_ms, "grid_import_energy_total", "kWh", 22 + 0.5 * h);
  for (int h = 1; h <= 24; ++h) s.put(e1, day_d + h * hour_ms, "grid_import_energy_total", "kWh", 45.5 + 0.5 * h);
  // grid_export_energy_total: +0.25 an hour from 5. A: 6. B: 5.75. D: 23 at D+1h (from 16.75 at
  // C), to 28.75 at E: 12.
  for (int h = 0; h <= 24; ++h) s.put(e1, day_a + h * hour_ms, "grid_export_energy_total", "kWh", 5 + 0.25 * h);
  for (int h = 1; h <= 23; ++h) s.put(e1, day_b + h * hour_ms, "grid_export_energy_total", "kWh", 11 + 0.25 * h);
  for (int h = 1; h <= 24; ++h) s.put(e1, day_d + h * hour_ms, "grid_export_energy_total", "kWh", 22.75 + 0.25 * h);
  // pv_energy_today of S1: finals A 5.0, B 4.0, D 6.0.
  s.put(s1, day_a + hour_ms, "pv_energy_today", "kWh", 1.0);
  s.put(s1, day_a + 20 * hour_ms, "pv_energy_today", "kWh", 5.0);
  s.put(s1, day_b + 2 * hour_ms, "pv_energy_today", "kWh", 2.0);
  s.put(s1, day_b + 21 * hour_ms, "pv_energy_today", "kWh", 4.0);
  s.put(s1, day_d + 3 * hour_ms, "pv_energy_today", "kWh", 6.0);
  // Powers for site series, hourly over day A: E1 pv 1000 W and grid 200 W, S1 pv 500 W except
  // at A+3h. An hourly count in both DST seasons for the `tz` buckets.
  for (int h = 0; h < 24; ++h) {
    s.put(e1, day_a + h * hour_ms, "pv_power", "W", 1000);
    s.put(e1, day_a + h * hour_ms, "grid_power", "W", 200);
    if (h != 3) s.put(s1, day_a + h * hour_ms, "pv_power", "W", 500);
  }
  for (int h = 0; h < 72; ++h) s.put(e1, day_a + h * hour_ms, "Hours", "", h, false);
  for (int h = 0; h < 49; ++h) s.put(e1, autumn + h * hour_ms, "Hours", "", h, false);
}


void seed_points(const TempDir& dir, const std::string& vendor, const std::string& serial, const std::string& metric,
                 const std::string& unit, const std::vector<std::pair<UtcMillis, double>>& points) {
  Seeder s(dir);
  const auto device = s.device(vendor, serial);
  for (const auto& [t, value] : points) s.put(device, t, metric, unit, value);
}

void configure_seeded_site(config::Config& c) {
  c.site.timezone = "Europe/Berlin";
  c.site.pv = {"alphaess:E1", "sma:S1"};
  c.site.grid = {"alphaess:E1"};
}

}  // namespace sunkeep::test
