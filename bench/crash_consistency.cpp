// Crash consistency: devices stream records to the real `sunkeep serve`, which is killed with
// SIGKILL at a random moment, restarted on the same database, and checked: every record a device
// saw acknowledged must be readable over HTTP, and PRAGMA integrity_check must say ok.
// Repeats for --rounds rounds; exits 1 on the first lost record or integrity failure. Every
// other round runs the writer with a short drain interval and a small log restart size
// (storage/tuning_override.hpp), so that kills also land in drain steps, batch deletions and
// log restarts, which the built-in tuning does not reach within a round. Such a round lasts past
// its first drain, and the run fails unless some such round drained samples into `sample` while
// the server ran (the built-in tuning drains only after a minute): otherwise the short tuning
// never reached the server.
#include "common/civil_time.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "storage/sqlite.hpp"
#include "storage/tuning_override.hpp"
#include "bench/server_launch.hpp"
#include "tests/support/http_client.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using sunkeep::bench::start_server;
using sunkeep::bench::two_free_ports;
using sunkeep::bench::wait_healthy;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
const std::int64_t base_s = sunkeep::CivilTime{2025, 1, 1, 0, 0, 0}.naive_epoch_seconds();

struct Acked {
  std::mutex mutex;
  std::vector<std::set<std::int64_t>> times;  // per device: device times (= UTC, zone UTC) acked
};

asio::awaitable<void> stream(int device, std::uint16_t port, std::int64_t& next, Acked& acked) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto c = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, tuple_awaitable);
  if (std::get<0>(c)) co_return;
  std::array<std::uint8_t, 29> ack{};
  const std::string serial = "CRASH" + std::to_string(device);
  while (true) {
    const std::int64_t t = next;
    const std::string payload = R"({"Time":")" + sunkeep::civil_from_naive_seconds(base_s + t).to_device_string() +
                                R"(","SN":")" + serial + R"(","SOC":")" + std::to_string(t % 100) + R"(.5","Pbat":"1.0"})";
    const auto frame = sunkeep::alphaess::frame_bytes(1, 16, payload);
    auto w = co_await asio::async_write(socket, asio::buffer(frame), tuple_awaitable);
    if (std::get<0>(w)) co_return;
    auto r = co_await asio::async_read(socket, asio::buffer(ack), tuple_awaitable);
    if (std::get<0>(r)) co_return;  // killed before the ack: this record may or may not be stored
    {
      std::lock_guard lock(acked.mutex);
      acked.times[static_cast<std::size_t>(device)].insert(t);
    }
    next += 10;
  }
}

// Every acked time of every device, read back over HTTP. Returns the number missing.
std::size_t verify(std::uint16_t http_port, Acked& acked) {
  std::size_t missing = 0;
  for (std::size_t d = 0; d < acked.times.size(); ++d) {
    const auto& want = acked.times[d];
    if (want.empty()) continue;
    const std::string target = "/api/v1/devices/alphaess:CRASH" + std::to_string(d) + "/series?metric=SOC&from=" +
                               std::to_string(base_s + *want.begin()) + "&to=" + std::to_string(base_s + *want.rbegin() + 1);
    const auto reply = sunkeep::test::http_get(http_port, target);
    std::set<std::int64_t> have;
    if (reply.status == 200) {
      const auto answer = nlohmann::json::parse(reply.body);  // a named value: the loop must not outlive it
      for (const auto& p : answer["series"][0]["points"]) {
        const std::string t = p[0];
        const sunkeep::CivilTime c{std::stoi(t.substr(0, 4)), std::stoi(t.substr(5, 2)), std::stoi(t.substr(8, 2)),
                                   std::stoi(t.substr(11, 2)), std::stoi(t.substr(14, 2)), std::stoi(t.substr(17, 2))};
        have.insert(c.naive_epoch_seconds() - base_s);
      }
    }
    std::size_t lost = 0;
    for (auto t : want) lost += have.count(t) ? 0U : 1U;
    if (lost > 0 && missing == 0) {
      std::printf("device %zu: %zu of %zu acked records not read back (HTTP %u, %zu points): %s\n", d, lost, want.size(),
                  reply.status, have.size(), reply.body.substr(0, 200).c_str());
    }
    missing += lost;
  }
  return missing;
}

// Rows in `sample`, read beside the running server as its HTTP readers do. Within a round only a
// drain adds to them (the restart's recovery has already run; compaction starts after 30 s).
std::int64_t sample_rows(const std::string& database) {
  sunkeep::storage::Connection db(database, sunkeep::storage::Connection::Mode::read_only);
  return db.query_int("SELECT count(*) FROM sample");
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary = "build/release/app/sunkeep";
  std::string dir = "build/crash-consistency";
  int rounds = 50;
  int devices = 20;
  CLI::App app{"sunkeep crash consistency: kill -9 while devices stream, then check every ack"};
  app.add_option("--binary", binary, "the sunkeep executable");
  app.add_option("--dir", dir, "working folder (database, config; replaced)");
  app.add_option("--rounds", rounds, "kill/restart rounds");
  app.add_option("--devices", devices, "streaming devices");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto [port, http_port] = two_free_ports();
  const std::string config = dir + "/sunkeep.toml";
  std::ofstream(config) << "[storage]\npath = \"" << dir << "/sunkeep.db\"\n[alphaess]\nlisten = \"127.0.0.1:" << port
                        << "\"\n[http]\nlisten = \"127.0.0.1:" << http_port << "\"\nmax_points = 10000000\n[sermatec]\nenabled = false\n[sma]\nenabled = false\n";
  Acked acked;
  acked.times.resize(static_cast<std::size_t>(devices));
  std::vector<std::int64_t> next(static_cast<std::size_t>(devices));
  for (int d = 0; d < devices; ++d) next[static_cast<std::size_t>(d)] = d;  // distinct device clocks
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> kill_after_ms(100, 1500);
  std::size_t total_acked = 0;
  int short_rounds = 0, rounds_that_drained = 0;
  const std::string database = dir + "/sunkeep.db";
  for (int round = 1; round <= rounds; ++round) {
    const bool short_tuning = round % 2 == 0;
    if (short_tuning) {
      ::setenv(sunkeep::storage::writer_tuning_variable,
               "drain_interval_ms=200,drain_slice_points=300,batch_delete_step=40,wal_restart_bytes=262144,"
               "wal_limit_bytes=2097152",
               1);
    } else {
      ::unsetenv(sunkeep::storage::writer_tuning_variable);
    }
    const pid_t pid = start_server(binary, config);
    if (!wait_healthy(http_port)) {
      std::printf("round %d: server did not come up\n", round);
      ::kill(pid, SIGKILL);
      return 1;
    }
    // The previous round's acks must all be there after the restart.
    if (const auto missing = verify(http_port, acked); missing > 0) {
      std::printf("round %d: %zu acknowledged records missing after kill -9\n", round, missing);
      ::kill(pid, SIGKILL);
      return 1;
    }
    const std::int64_t rows_at_start = sample_rows(database);
    asio::io_context io;
    for (int d = 0; d < devices; ++d) asio::co_spawn(io, stream(d, port, next[static_cast<std::size_t>(d)], acked), asio::detached);
    std::thread devices_thread([&io] { io.run_for(30s); });
    const int kill_after = kill_after_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(short_tuning ? std::max(kill_after, 400) : kill_after));
    const bool drained = sample_rows(database) > rows_at_start;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    devices_thread.join();
    total_acked = 0;
    for (const auto& t : acked.times) total_acked += t.size();
    short_rounds += short_tuning ? 1 : 0;
    rounds_that_drained += short_tuning && drained ? 1 : 0;
    std::printf("round %d%s: killed; %zu records acknowledged so far%s\n", round,
                short_tuning ? " (short drain and log restart)" : "", total_acked, drained ? "; drained samples" : "");
  }
  ::unsetenv(sunkeep::storage::writer_tuning_variable);
  const pid_t pid = start_server(binary, config);
  const bool up = wait_healthy(http_port);
  const std::size_t missing = up ? verify(http_port, acked) : total_acked;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  sunkeep::storage::Connection db(database);
  auto check = db.prepare("PRAGMA integrity_check");
  const std::string integrity = check.step() ? check.text(0) : "no answer";
  const bool drains_reached = short_rounds == 0 || rounds_that_drained > 0;
  std::printf("crash consistency: %d rounds, %zu acknowledged records, %zu missing, integrity_check: %s, "
              "%d of %d short-tuning rounds drained%s\n",
              rounds, total_acked, missing, integrity.c_str(), rounds_that_drained, short_rounds,
              drains_reached ? "" : " (none did: the short tuning did not reach the server)");
  return missing == 0 && integrity == "ok" && drains_reached ? 0 : 1;
}
