// The dashboard in a real browser: Debian's chromium driven by playwright-core from
// web/tests/dashboard.mjs, against in-process servers on loopback. One holds the seeded history
// of tests/support/site_seed.hpp and an SMA Energy Meter listener the script sends a captured
// datagram to; the other has a token set. The script's checks are listed at its top; it writes
// screenshots at phone and desktop sizes to build/<preset>/screenshots for a reviewer.
#include "tests/support/child_process.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/site_seed.hpp"
#include "tests/support/test_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

TEST_CASE("browser: every dashboard page in chromium, live values, zoom, energy bars, offline devices, the token prompt") {
  TempDir dir;
  seed_march(dir);
  TestServer home(dir, [](config::Config& c) {
    configure_seeded_site(c);
    c.site.grid = {"sma:1901429669"};  // the meter the script sends a datagram as
    c.sma.enabled = true;
    c.sma.energy_meter = true;
    c.sma.energy_meter_interval = std::chrono::seconds(10);
  });
  TestServer locked([](config::Config& c) { c.http.token = "t0ken"; });
  const std::string shots = SUNKEEP_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  const CommandResult run = run_command(
      {"node", std::string(SUNKEEP_SOURCE_DIR) + "/web/tests/dashboard.mjs",
       "--url=http://127.0.0.1:" + std::to_string(home.http_port()),
       "--meter-port=" + std::to_string(home.sma_meter_port()),
       "--meter-datagram=" + std::string(SUNKEEP_FIXTURES_DIR) + "/sma/emeter_6069_mlasch_pkt0.bin",
       "--token-url=http://127.0.0.1:" + std::to_string(locked.http_port()), "--token=t0ken", "--shots=" + shots},
      std::chrono::seconds(240));
  MESSAGE(run.output);
  CHECK(run.exit_code == 0);
}
