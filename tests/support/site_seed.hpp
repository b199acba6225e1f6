// A home's history written straight into a database before a server opens it, for the site
// tests and the browser tests: Europe/Berlin, around the 23-hour day of 2026-03-29 and the
// 25-hour day of 2026-10-25. The values and what they add up to are in site_seed.cpp.
#pragma once

#include "common/civil_time.hpp"
#include "config/config.hpp"
#include "tests/support/fixtures.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sunkeep::test {

inline constexpr std::int64_t hour_ms = 3600000;
// Local midnights in Europe/Berlin (CET +01:00 until 2026-03-29 02:00, CEST +02:00 after).
inline constexpr UtcMillis day_a = 1774652400000;  // 2026-03-28T00:00+01:00 = 03-27T23:00Z, 24 h
inline constexpr UtcMillis day_b = 1774738800000;  // 2026-03-29T00:00+01:00 = 03-28T23:00Z, 23 h
inline constexpr UtcMillis day_c = 1774821600000;  // 2026-03-30T00:00+02:00 = 03-29T22:00Z, no data
inline constexpr UtcMillis day_d = 1774908000000;  // 2026-03-31T00:00+02:00 = 03-30T22:00Z
inline constexpr UtcMillis day_e = 1774994400000;  // 2026-04-01T00:00+02:00 = 03-31T22:00Z
inline constexpr UtcMillis autumn = 1792879200000;  // 2026-10-25T00:00+02:00, a 25-hour day

// Two PV sources ("alphaess:E1" with lifetime counters, "sma:S1" with only a daily counter) and
// E1 as the grid meter, over local days A–D of which C has no data; an hourly "Hours" count of E1
// from A for 72 h and from `autumn` for 49 h.
void seed_march(const TempDir& dir);
// One series of one device, written into the database of `dir` (made if new).
void seed_points(const TempDir& dir, const std::string& vendor, const std::string& serial, const std::string& metric,
                 const std::string& unit, const std::vector<std::pair<UtcMillis, double>>& points);
// [site] for that history: Europe/Berlin, pv E1 and S1, grid E1.
void configure_seeded_site(config::Config& c);

}  // namespace sunkeep::test
