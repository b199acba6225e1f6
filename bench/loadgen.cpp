// Load generator: N simulated AlphaESS devices on loopback pushing realtime records (and a
// five-minute record every 30th frame), each waiting for its ack before the next frame.
// Reports frames acked per second, ack latency percentiles (with --timeline, those of every
// second too), and the server's RSS and open descriptors (from /proc, given --server-pid).
// Closed loop: next frame right after the ack; fixed rate: each device sends at --rate frames
// per second. Hostile extras: --idle connections that send half a frame header and then
// nothing, and --garbage streams of random bytes; with --linger the server's descriptors are
// sampled again after the run (idle connections must be gone once sunkeep's idle_timeout has
// passed).
#include "bench/percentile.hpp"

#include "common/civil_time.hpp"
#include "protocol/alphaess/encoder.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

using sunkeep::bench::percentile;

struct Options {
  std::uint16_t port = 7777;
  int devices = 100;
  double seconds = 10;
  double rate = 0;  // frames per second per device; 0 = closed loop
  double ramp = 0;  // seconds over which the devices connect, evenly spread; 0 = all at once
  int server_pid = 0;
  int threads = 1;
  int idle = 0;
  int garbage = 0;
  double linger = 0;
  bool timeline = false;
  std::string serial_prefix = "BENCH";  // two load generators at once need different ones
  bool stamp = false;  // Pbat carries the send time (ms of the wall clock mod 1,000,000)
};

// With --stamp, the wall clock's milliseconds mod 1,000,000: an MQTT subscriber reading
// battery_power learns when the frame was sent (bench/mqtt_delivery.cpp).
std::string battery_power(const Options& opt) {
  if (!opt.stamp) return "-2187.8480";
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return std::to_string(ms.count() % 1'000'000);
}

// One acknowledged frame: when it was sent (seconds into the run) and how long its ack took.
struct Ack {
  double sent_s;
  double latency_ms;
};

struct Results {
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<int> connected{0};
  std::mutex mutex;
  std::vector<Ack> acks;
};

// `pbat`: the battery power to send ("-2187.8480", or the send time with --stamp).
std::string realtime(const std::string& serial, const std::string& time, int i, const std::string& pbat) {
  return R"({"Time":")" + time + R"(","SN":")" + serial + R"(","Ppv1":")" + std::to_string(1000 + i % 37) +
         R"(","Ppv2":"981","PrealL1":"-310","PrealL2":"0.0","PrealL3":"0.0","PmeterL1":")" + std::to_string(i % 200 - 100) +
         R"(","PmeterL2":"0","PmeterL3":"0","PmeterDC":"951","Pbat":")" + pbat + R"(","Sva":"405","VarAC":"-669","VarDC":"96","SOC":")" +
         std::to_string(20 + i % 80) + R"(.0"})";
}

std::string five_minute(const std::string& serial, const std::string& time, int i) {
  std::string payload = R"({"Time":")" + time + R"(","SN":")" + serial + "\"";
  for (int k = 0; k < 87; ++k) payload += ",\"Key" + std::to_string(k) + "\":\"" + std::to_string((i * 7 + k) % 1000) + ".5\"";
  return payload + "}";
}

// Reads one whole frame (header, LEN, payload, CRC).
awaitable<bool> read_frame(tcp::socket& socket, std::vector<std::uint8_t>& buffer) {
  buffer.resize(7);
  auto head = co_await asio::async_read(socket, asio::buffer(buffer), tuple_awaitable);
  if (std::get<0>(head)) co_return false;
  const std::size_t len = (std::size_t{buffer[3]} << 24) | (std::size_t{buffer[4]} << 16) | (std::size_t{buffer[5]} << 8) | buffer[6];
  buffer.resize(7 + len + 2);
  auto rest = co_await asio::async_read(socket, asio::buffer(buffer.data() + 7, len + 2), tuple_awaitable);
  co_return !std::get<0>(rest);
}

awaitable<void> device(int index, const Options& opt, Results& results, Clock::time_point start, Clock::time_point end) {
  auto executor = co_await asio::this_coro::executor;
  if (opt.ramp > 0) {
    asio::steady_timer stagger(executor, std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opt.ramp * index / opt.devices)));
    co_await stagger.async_wait(tuple_awaitable);
  }
  tcp::socket socket(executor);
  auto connected = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), opt.port}, tuple_awaitable);
  if (std::get<0>(connected)) {
    ++results.errors;
    co_return;
  }
  ++results.connected;
  socket.set_option(tcp::no_delay(true));
  char number[16];
  std::snprintf(number, sizeof number, "%07d", index);
  const std::string serial = opt.serial_prefix + number;
  std::vector<Ack> acks;
  std::vector<std::uint8_t> reply;
  asio::steady_timer pace(executor);
  // Device clocks start now (in UTC, the bench server's zone) and advance 10 s a frame, so every
  // record key is new and every record is live, as a fleet's are: records of hours closed long ago
  // would have the writer packing them all the time (a backfill's load, benchmarked apart).
  const std::int64_t base =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      index % 10;
  auto next_send = Clock::now() + std::chrono::milliseconds(index % 1000);
  for (int i = 0; Clock::now() < end; ++i) {
    if (opt.rate > 0) {
      pace.expires_at(next_send);
      co_await pace.async_wait(tuple_awaitable);
      next_send += std::chrono::microseconds(static_cast<std::int64_t>(1e6 / opt.rate));
    }
    const std::string time = sunkeep::civil_from_naive_seconds(base + 10LL * i).to_device_string();
    // Every 30th frame a five-minute record, each device at its own turn (as a fleet's are spread
    // out; all at once, a thousand 89-key records arrive in the same second).
    const bool five = (i + index) % 30 == 29;
    const auto frame = sunkeep::alphaess::frame_bytes(
        1, five ? 5 : 16, five ? five_minute(serial, time, i) : realtime(serial, time, i, battery_power(opt)));
    const auto sent_at = Clock::now();
    auto written = co_await asio::async_write(socket, asio::buffer(frame), tuple_awaitable);
    const bool acked = !std::get<0>(written) && co_await read_frame(socket, reply);
    if (!acked) {
      ++results.errors;
      break;
    }
    acks.push_back({std::chrono::duration<double>(sent_at - start).count(),
                    std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count()});
    ++results.acked;
  }
  std::lock_guard lock(results.mutex);
  results.acks.insert(results.acks.end(), acks.begin(), acks.end());
}

// Connects, sends the first 4 bytes of a frame header, then waits without ever finishing it.
awaitable<void> slowloris(std::uint16_t port, std::atomic<int>& open, Clock::time_point end) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto c = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, tuple_awaitable);
  if (std::get<0>(c)) co_return;
  ++open;
  const std::uint8_t half[] = {0x01, 0x01, 0x10, 0x00};
  co_await asio::async_write(socket, asio::buffer(half), tuple_awaitable);
  std::array<std::uint8_t, 64> sink{};
  asio::steady_timer until(socket.get_executor(), end);
  using namespace asio::experimental::awaitable_operators;
  co_await (socket.async_read_some(asio::buffer(sink), tuple_awaitable) || until.async_wait(tuple_awaitable));
  --open;
}

// Streams random bytes, reconnecting whenever sunkeep drops the connection.
awaitable<void> garbage_stream(std::uint16_t port, std::atomic<std::uint64_t>& reconnects, Clock::time_point end) {
  std::vector<std::uint8_t> junk(16384);
  std::uint32_t x = 2463534242U;
  for (auto& b : junk) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  while (Clock::now() < end) {
    tcp::socket socket(co_await asio::this_coro::executor);
    auto c = co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, tuple_awaitable);
    if (std::get<0>(c)) co_return;
    ++reconnects;
    while (Clock::now() < end) {
      auto w = co_await asio::async_write(socket, asio::buffer(junk), tuple_awaitable);
      if (std::get<0>(w)) break;
    }
  }
}

std::string proc_status(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  }
  return "?";
}

std::size_t open_descriptors(int pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

void print_latencies(const char* label, std::vector<double> ms) {
  const double max = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  std::printf("%s p50 %.2f  p99 %.2f  max %.2f\n", label, percentile(ms, 0.5), percentile(ms, 0.99), max);
}

// The ack latencies of each second of the run (by the second a frame was sent), to see when
// slow acks happen: steadily, or in bursts that line up with the writer's upkeep.
void print_timeline(const std::vector<Ack>& acks) {
  std::vector<std::vector<double>> seconds;
  for (const auto& ack : acks) {
    const auto second = static_cast<std::size_t>(ack.sent_s);
    if (second >= seconds.size()) seconds.resize(second + 1);
    seconds[second].push_back(ack.latency_ms);
  }
  for (std::size_t s = 0; s < seconds.size(); ++s) {
    const std::string label = "second " + std::to_string(s) + " (" + std::to_string(seconds[s].size()) + " acks):";
    print_latencies(label.c_str(), std::move(seconds[s]));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"sunkeep load generator: simulated AlphaESS devices on loopback"};
  app.add_option("--port", opt.port, "sunkeep's AlphaESS port on 127.0.0.1");
  app.add_option("--devices", opt.devices, "simulated devices");
  app.add_option("--seconds", opt.seconds, "duration");
  app.add_option("--rate", opt.rate, "frames per second per device (0 = closed loop)");
  app.add_option("--ramp", opt.ramp, "seconds over which the devices connect (a fleet coming back after a restart)");
  app.add_option("--server-pid", opt.server_pid, "report this process's RSS and descriptors");
  app.add_option("--threads", opt.threads, "load generator threads");
  app.add_option("--idle", opt.idle, "extra connections that send half a header and then nothing");
  app.add_option("--garbage", opt.garbage, "extra connections streaming random bytes");
  app.add_option("--linger", opt.linger, "seconds to wait after the run before sampling the server again");
  app.add_flag("--timeline", opt.timeline, "also print the ack latencies of every second of the run");
  app.add_flag("--stamp", opt.stamp, "send the send time as Pbat (for bench/mqtt_delivery.cpp)");
  app.add_option("--serial-prefix", opt.serial_prefix, "devices are <prefix>0000000, <prefix>0000001, ...");
  CLI11_PARSE(app, argc, argv);

  Results results;
  asio::io_context io;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  for (int i = 0; i < opt.devices; ++i) asio::co_spawn(io, device(i, opt, results, start, end), asio::detached);
  std::atomic<int> idle_open{0};
  std::atomic<std::uint64_t> garbage_reconnects{0};
  const auto idle_end = end + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.linger));
  for (int i = 0; i < opt.idle; ++i) asio::co_spawn(io, slowloris(opt.port, idle_open, idle_end), asio::detached);
  for (int i = 0; i < opt.garbage; ++i) asio::co_spawn(io, garbage_stream(opt.port, garbage_reconnects, end), asio::detached);
  std::vector<std::thread> threads;
  for (int t = 1; t < opt.threads; ++t) threads.emplace_back([&io] { io.run(); });
  std::string rss_loaded = "?";
  std::size_t fds_loaded = 0;
  std::string rss_after = "?";
  std::size_t fds_after = 0;
  int idle_at_end = 0;
  std::thread sampler([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds * 0.8));
    if (opt.server_pid > 0) {
      rss_loaded = proc_status(opt.server_pid, "VmRSS");
      fds_loaded = open_descriptors(opt.server_pid);
    }
    if (opt.linger > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds * 0.2 + opt.linger - 0.5));
      idle_at_end = idle_open.load();
      if (opt.server_pid > 0) {
        rss_after = proc_status(opt.server_pid, "VmRSS");
        fds_after = open_descriptors(opt.server_pid);
      }
    }
  });
  io.run();
  for (auto& t : threads) t.join();
  sampler.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("devices %d (connected %d), %s, %.1f s\n", opt.devices, results.connected.load(),
              opt.rate > 0 ? ("fixed rate " + std::to_string(opt.rate) + "/s each").c_str() : "closed loop", elapsed);
  std::printf("frames acked %llu (%.0f/s), errors %llu\n", static_cast<unsigned long long>(results.acked.load()),
              static_cast<double>(results.acked.load()) / elapsed, static_cast<unsigned long long>(results.errors.load()));
  std::vector<double> latencies;
  latencies.reserve(results.acks.size());
  for (const auto& ack : results.acks) latencies.push_back(ack.latency_ms);
  print_latencies("ack latency ms:", std::move(latencies));
  if (opt.timeline) print_timeline(results.acks);
  if (opt.server_pid > 0) std::printf("server under load: RSS %s, open descriptors %zu\n", rss_loaded.c_str(), fds_loaded);
  if (opt.idle > 0 || opt.garbage > 0) {
    std::printf("hostile: %d half-frame connections, %d garbage streams (%llu connections, each dropped by sunkeep)\n",
                opt.idle, opt.garbage, static_cast<unsigned long long>(garbage_reconnects.load()));
  }
  if (opt.linger > 0) {
    std::printf("%.0f s after the run: %d half-frame connections still open; server RSS %s, open descriptors %zu\n",
                opt.linger, idle_at_end, rss_after.c_str(), fds_after);
  }
  return results.errors.load() == 0 ? 0 : 1;
}
