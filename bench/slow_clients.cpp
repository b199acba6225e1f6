// HTTP under clients that do not read: the real `sunkeep serve` on a database holding one device's
// day of raw points for several metrics (one answer ≈ 2.85 MB), then --clients connections that
// each ask for that answer and never read a byte. Meanwhile the server's RSS (VmRSS, from /proc)
// and the latency of GET /api/v1/health (a fresh connection each time) are sampled; VmHWM at the
// end is the peak. Targets (issue 6): RSS ≤ 200 MB, health ≤ 50 ms. Prints figures, asserts
// nothing; exits 1 only when the server does not start.
#include "bench/percentile.hpp"

#include "storage/schema.hpp"
#include "storage/sqlite.hpp"
#include "storage/store.hpp"
#include "bench/server_launch.hpp"
#include "tests/support/http_client.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using sunkeep::bench::start_server;
using sunkeep::bench::two_free_ports;
using sunkeep::bench::wait_healthy;
using Clock = std::chrono::steady_clock;

namespace {

using sunkeep::bench::percentile;

constexpr std::int64_t day_start_s = 1709251200;  // 2024-03-01T00:00:00Z
constexpr int points_per_day = 8640;               // every 10 s

// One device, "alphaess:ALSLOW", with `metrics` series m0, m1, … of a day of raw points each.
void write_database(const std::string& path, int metrics) {
  sunkeep::storage::Connection db(path);
  sunkeep::storage::configure_durable(db);
  sunkeep::storage::migrate(db);
  sunkeep::storage::Store store(db);
  db.exec("BEGIN IMMEDIATE");
  const auto device = store.upsert_device("alphaess", "ALSLOW", day_start_s * 1000, "127.0.0.1:1");
  std::vector<sunkeep::Reading> samples;
  for (int m = 0; m < metrics; ++m) samples.push_back({"m" + std::to_string(m), "W", 0, false});
  for (int i = 0; i < points_per_day; ++i) {
    for (int m = 0; m < metrics; ++m) {
      // Powers as devices send them: a sign, four digits and a decimal.
      samples[static_cast<std::size_t>(m)].value = std::round(2500 * std::sin(i / 1375.0 + m) * 10) / 10 - 0.5;
    }
    store.insert_samples(device, (day_start_s + 10LL * i) * 1000, samples);
  }
  store.flush_device_state();
  db.exec("COMMIT");
  db.exec("BEGIN IMMEDIATE");
  while (store.move_batches_to_samples(100'000) > 0) {
  }
  db.exec("COMMIT");
}

std::string large_target(int metrics) {
  std::string target = "/api/v1/devices/alphaess:ALSLOW/series?from=" + std::to_string(day_start_s) +
                       "&to=" + std::to_string(day_start_s + 86400);
  for (int m = 0; m < metrics; ++m) target += "&metric=m" + std::to_string(m);
  return target;
}

// The latency of one health request on a fresh connection, or a negative number when it failed.
double health_ms(std::uint16_t http_port) {
  const auto start = Clock::now();
  try {
    if (sunkeep::test::http_get(http_port, "/api/v1/health").status != 200) return -1;
  } catch (const std::exception&) {
    return -1;
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A field of /proc/<pid>/status in MB ("VmRSS", "VmHWM"), 0 when unreadable.
double status_mb(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return 0;
}

// Opens `count` connections that each send `request` and never read.
std::vector<std::unique_ptr<tcp::socket>> open_silent_clients(asio::io_context& io, std::uint16_t port, int count,
                                                              const std::string& request, int& failed) {
  std::vector<std::unique_ptr<tcp::socket>> clients;
  for (int i = 0; i < count; ++i) {
    auto socket = std::make_unique<tcp::socket>(io);
    boost::system::error_code ec;
    socket->connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) asio::write(*socket, asio::buffer(request), ec);
    if (ec) {
      ++failed;
      continue;
    }
    clients.push_back(std::move(socket));
  }
  return clients;
}

struct Samples {
  std::vector<double> health;  // ms
  int health_failures = 0;
  double rss_max_mb = 0;
};

// Samples health and RSS for `seconds`, a health request every 100 ms.
Samples sample(pid_t pid, std::uint16_t http_port, double seconds) {
  Samples s;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const double ms = health_ms(http_port);
    if (ms < 0) {
      ++s.health_failures;
    } else {
      s.health.push_back(ms);
    }
    s.rss_max_mb = std::max(s.rss_max_mb, status_mb(pid, "VmRSS"));
    std::this_thread::sleep_for(100ms);
  }
  return s;
}

void report(const char* what, const Samples& s) {
  std::printf("%s: health p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu answered, %d failed); server RSS max %.1f MB\n",
              what, percentile(s.health, 0.5), percentile(s.health, 0.99), percentile(s.health, 1.0), s.health.size(),
              s.health_failures, s.rss_max_mb);
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary = "build/release/app/sunkeep";
  std::string dir = "build/bench-slow-clients";
  int clients = 300;
  int metrics = 10;
  double seconds = 15;
  bool quick = false;
  CLI::App app{"sunkeep HTTP under clients that never read their large answers: server RSS and health latency"};
  app.add_option("--binary", binary, "the sunkeep executable");
  app.add_option("--dir", dir, "working folder (database, config; replaced)");
  app.add_option("--clients", clients, "connections that ask for the large answer and never read");
  app.add_option("--metrics", metrics, "metrics in the large answer (a day of raw points each, ~290 KB)");
  app.add_option("--seconds", seconds, "how long to sample while the clients hang");
  app.add_flag("--quick", quick, "smoke run (CI): 30 clients, 3 s");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    clients = std::min(clients, 30);
    seconds = std::min(seconds, 3.0);
  }

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_database(dir + "/sunkeep.db", metrics);
  const auto [port, http_port] = two_free_ports();
  const std::string config = dir + "/sunkeep.toml";
  std::ofstream(config) << "[storage]\npath = \"" << dir << "/sunkeep.db\"\n[alphaess]\nlisten = \"127.0.0.1:" << port
                        << "\"\n[http]\nlisten = \"127.0.0.1:" << http_port << "\"\n[sermatec]\nenabled = false\n[sma]\nenabled = false\n";
  const pid_t pid = start_server(binary, config);
  if (!wait_healthy(http_port)) {
    std::printf("the server did not come up\n");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return 1;
  }

  const std::string target = large_target(metrics);
  const auto answer = sunkeep::test::http_get(http_port, target);
  std::printf("the large answer: status %u, %.2f MB (%d metrics × %d points)\n", answer.status,
              static_cast<double>(answer.body.size()) / 1e6, metrics, points_per_day);
  report("idle", sample(pid, http_port, 1));

  asio::io_context io;
  int failed = 0;
  const auto silent = open_silent_clients(io, http_port, clients, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", failed);
  std::printf("%zu clients asked for it and read nothing (%d could not connect or send)\n", silent.size(), failed);
  const Samples hanging = sample(pid, http_port, seconds);
  report("while they hang", hanging);
  const double peak = status_mb(pid, "VmHWM");
  const double health_max = percentile(hanging.health, 1.0);
  std::printf("server VmHWM (peak RSS of the whole run) %.1f MB\n", peak);
  std::printf("targets: RSS ≤ 200 MB %s; health ≤ 50 ms %s\n", peak <= 200 ? "met" : "NOT met",
              hanging.health_failures == 0 && health_max <= 50 ? "met" : "NOT met");

  for (const auto& socket : silent) {
    boost::system::error_code ignored;
    socket->close(ignored);
  }
  std::this_thread::sleep_for(1s);
  report("after they closed", sample(pid, http_port, 1));
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  return 0;
}
