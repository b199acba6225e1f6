// Storage benchmarks without the network:
//   year     one device's year of 10-second realtime pushes written through the real ingest code
//            (the AlphaESS observation through storage::ingest: raw archive, record, samples, archived ack), 1,000 frames per
//            transaction, then packed as the writer packs closed hours (samples, frames, record
//            keys) and VACUUMed: bytes on disk per numeric point, and the two query figures of
//            issue 3 through the API code (no HTTP).
//   ceiling  the same records as pre-built rows (no decoding, no network) inserted by the
//            storage layer in group-commit-sized transactions: the reference for the server;
//            then the time each pass of archive packing takes on what it wrote.
//   ingest   the same records decoded and stored by storage::ingest (no network).
#include "api/api.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/frame_decoder.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/metrics.hpp"
#include "protocol/alphaess/observation.hpp"
#include "storage/ingest.hpp"
#include "storage/history.hpp"
#include "storage/schema.hpp"
#include "storage/store.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

using namespace sunkeep;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t year_start_s = 1704067200;  // 2024-01-01T00:00:00Z

std::string realtime(const std::string& time, int i) {
  // Values move like a real system's: slow PV and SOC ramps, noisy grid and battery power.
  const int pv = static_cast<int>(2500 + 2500 * std::sin(i / 4320.0 * 3.14159));
  return R"({"Time":")" + time + R"(","SN":"ALYEAR","Ppv1":")" + std::to_string(std::max(0, pv)) + R"(","Ppv2":")" +
         std::to_string(std::max(0, pv - 40)) + R"(","PrealL1":")" + std::to_string(400 + (i * 37) % 300) +
         R"(","PrealL2":"0.0","PrealL3":"0.0","PmeterL1":")" + std::to_string((i * 53) % 900 - 450) +
         R"(","PmeterL2":"0","PmeterL3":"0","PmeterDC":"0","Pbat":")" + std::to_string(((i * 71) % 40000 - 20000) / 10.0) +
         R"(","Sva":"405","VarAC":"-669","VarDC":"96","SOC":")" + std::to_string(20 + (i / 360) % 80) + R"(.0"})";
}

alphaess::Frame frame_at(int i, const std::string& serial = "ALYEAR") {
  const std::string time = civil_from_naive_seconds(year_start_s + 10LL * i).to_device_string();
  std::string payload = realtime(time, i);
  payload.replace(payload.find("ALYEAR"), 6, serial);
  return alphaess::Frame{alphaess::frame_bytes(1, 16, payload)};
}

struct Db {
  explicit Db(const std::string& path) : connection(path) {
    storage::configure_durable(connection);
    storage::migrate(connection);
  }
  storage::Connection connection;
};

// Runs `pass` in a transaction of its own, again and again, until it reports nothing left to do
// (as the writer runs its upkeep passes).
void until_done(storage::Connection& db, const std::function<bool()>& pass) {
  for (bool more = true; more;) {
    db.exec("BEGIN IMMEDIATE");
    more = pass();
    db.exec("COMMIT");
  }
}

// Packs every sample row into hour blocks, as the writer's compaction does once hours close.
void compact_all_samples(storage::Connection& db, storage::Store& store) {
  until_done(db, [&] { return store.compact_samples(std::numeric_limits<std::int64_t>::max(), 200'000) > 0; });
}

// Moves the sample batches into `sample` in one sorted pass, as the writer's drain does.
void drain(storage::Connection& db, storage::Store& store) {
  db.exec("BEGIN IMMEDIATE");
  while (store.move_batches_to_samples(1'000'000) > 0) {
  }
  db.exec("COMMIT");
}

// Writes `frames` in transactions of `batch`, draining samples every `drain_every` records, as the
// server's writer drains its sample batches now and then (WriterTuning::drain_interval).
void in_transactions(storage::Connection& db, storage::Store& store, int frames, int batch,
                     const std::function<void(int)>& write) {
  constexpr int drain_every = 100'000;
  for (int i = 0; i < frames; i += batch) {
    db.exec("BEGIN IMMEDIATE");
    for (int k = i; k < std::min(frames, i + batch); ++k) write(k);
    store.flush_device_state();
    db.exec("COMMIT");
    if ((i + batch) % drain_every < batch) drain(db, store);
  }
  drain(db, store);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void run_ingest(storage::Connection& db, int frames, int batch) {
  storage::Store store(db);
  const TimeZone utc("UTC");
  const auto ack = alphaess::make_success_ack(16).bytes();
  in_transactions(db, store, frames, batch, [&](int i) {
    const alphaess::Frame frame = frame_at(i);
    const alphaess::Message message = alphaess::decode_message(frame);
    Observation seen = alphaess::observe({.peer = "127.0.0.1:1", .received = (year_start_s + 10LL * i) * 1000,
                                          .frame = frame, .message = message, .connection_serial = "ALYEAR",
                                          .reply = ack, .zone = &utc});
    storage::ingest(store, seen);
  });
}

// Packs every hour written, in the writer's passes, each pass a transaction of its own: the
// longest pass is how long the writer's upkeep can hold a group commit (and so the acks).
void report_packing(storage::Connection& db, storage::Store& store) {
  std::vector<double> passes;
  storage::PackStep total;
  for (bool more = true; more;) {
    const auto start = Clock::now();
    db.exec("BEGIN IMMEDIATE");
    const auto step = store.pack_archive(std::numeric_limits<std::int64_t>::max());
    db.exec("COMMIT");
    more = step.did_work();
    if (!more) break;
    passes.push_back(seconds_since(start) * 1000);
    total.frames_packed += step.frames_packed;
    total.rows_deleted += step.rows_deleted;
  }
  if (passes.empty()) return;
  std::sort(passes.begin(), passes.end());
  double sum = 0;
  for (const double p : passes) sum += p;
  std::printf("archive packing: %lld frames into blocks, %lld rows deleted, in %zu passes; pass mean %.1f ms, "
              "p99 %.1f ms, max %.1f ms\n",
              static_cast<long long>(total.frames_packed), static_cast<long long>(total.rows_deleted), passes.size(),
              sum / static_cast<double>(passes.size()), passes[passes.size() * 99 / 100], passes.back());
}

// The rows the server writes for one push, pre-built and inserted with the storage layer: the
// frame, the record with its samples, the ack frame and the device's last-seen time.
// `devices` > 1 spreads the records round-robin over that many devices, as a fleet sends them.
void run_ceiling(storage::Connection& db, int frames, int batch, int devices, bool pack) {
  storage::Store store(db);
  std::vector<storage::DeviceId> ids;
  std::vector<std::string> serials;
  for (int d = 0; d < devices; ++d) {
    serials.push_back("DEV" + std::to_string(d));
    ids.push_back(store.upsert_device("alphaess", serials.back(), 0, "127.0.0.1:1"));
  }
  // Rows built before the clock starts: only the inserts are timed.
  std::vector<std::pair<std::vector<std::uint8_t>, storage::RecordRow>> rows;
  rows.reserve(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; ++i) {
    const auto device = ids[static_cast<std::size_t>(i % devices)];
    const auto frame = frame_at(i / devices, serials[static_cast<std::size_t>(i % devices)]);
    const auto message = alphaess::decode_message(frame);
    const auto& record = std::get<alphaess::Telemetry>(message).records.at(0);
    storage::RecordRow row{.device = device, .kind = 1, .device_time = record.device_time.to_device_string(),
                           .utc = (year_start_s + 10LL * (i / devices)) * 1000, .received = 0, .frame = 0,
                           .fields_hash = fields_hash(alphaess::fields_to_json(record.fields)), .samples = {}};
    for (auto& s : alphaess::numeric_samples(record.fields)) row.samples.push_back({s.name, s.unit, s.value, s.canonical});
    rows.emplace_back(frame.raw, std::move(row));
  }
  const auto ack = alphaess::make_success_ack(16).bytes();
  const auto start = Clock::now();
  in_transactions(db, store, frames, batch, [&](int i) {
    auto& [raw, row] = rows[static_cast<std::size_t>(i)];
    store.upsert_device("alphaess", serials[static_cast<std::size_t>(i % devices)], row.utc, "127.0.0.1:1");
    row.frame = store.archive_frame({.device = row.device, .peer = "127.0.0.1:1", .received = row.utc, .raw = raw});
    store.insert_record(row);
    store.archive_frame({.device = row.device, .peer = "127.0.0.1:1", .received = row.utc,
                         .direction = storage::Direction::to_device, .command = 16, .raw = ack});
  });
  const double s = seconds_since(start);
  std::printf("ceiling: %d records of %d device(s) in %.2f s = %.0f records/s (pre-built rows, %d per transaction)\n",
              frames, devices, s, frames / s, batch);
  if (pack) {
    report_packing(db, store);
  } else {  // the samples packed as the server packs them, so the backlog is the archive alone
    compact_all_samples(db, store);
  }
}

void report_size(storage::Connection& db, const std::string& path) {
  const auto start = Clock::now();
  storage::Store store(db);
  // Everything is closed: the writer's passes with a cutoff after the last hour (the server
  // packs with a cutoff ten minutes after each hour ends).
  compact_all_samples(db, store);
  until_done(db, [&] { return store.pack_archive(std::numeric_limits<std::int64_t>::max()).did_work(); });
  std::printf("packed into blocks in %.1f s (%lld frames in %lld blocks, %lld frame rows left)\n", seconds_since(start),
              static_cast<long long>(db.query_int("SELECT sum(count) FROM frame_block")),
              static_cast<long long>(db.query_int("SELECT count(*) FROM frame_block")),
              static_cast<long long>(db.query_int("SELECT count(*) FROM frame")));
  // In WAL mode VACUUM writes the compacted file into the log; the checkpoint after it shrinks
  // the database file itself.
  db.exec("VACUUM");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const auto points = db.query_int("SELECT coalesce(sum(count), 0) FROM sample_block") + db.query_int("SELECT count(*) FROM sample");
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(path));
  std::printf("on disk: %lld bytes for %lld numeric points = %.2f bytes/point\n", static_cast<long long>(bytes),
              static_cast<long long>(points), static_cast<double>(bytes) / static_cast<double>(points));
  // Pages per table and index (SQLite's dbstat), the largest first.
  auto parts = db.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8");
  while (parts.step()) {
    std::printf("  %-36s %10lld bytes (%.2f per point)\n", parts.text(0).c_str(), static_cast<long long>(parts.int64(1)),
                static_cast<double>(parts.int64(1)) / static_cast<double>(points));
  }
}

struct NoneConnected final : api::LiveStatus {
  [[nodiscard]] bool connected(const std::string&, const std::string&) const override { return false; }
};

void report_queries(const std::string& path) {
  storage::Connection db(path, storage::Connection::Mode::read_only);
  const NoneConnected live;
  const api::Api api({.max_points = 1'000'000, .version = "bench"}, live);
  storage::HistoryReader history(db);
  const auto time = [&](const std::string& target) {
    double best = 1e9;
    for (int run = 0; run < 5; ++run) {
      const auto start = Clock::now();
      const auto r = api.handle({"GET", target, ""}, history, (year_start_s + 366LL * 86400) * 1000);
      best = std::min(best, seconds_since(start) * 1000);
      if (r.status != 200) std::printf("  %s -> %u\n", target.c_str(), r.status);
    }
    return best;
  };
  std::printf("query, best of 5 (API code, no HTTP): year at step=1h %.1f ms; one day raw %.1f ms\n",
              time("/api/v1/devices/alphaess:ALYEAR/series?metric=battery_power&step=1h&from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z"),
              time("/api/v1/devices/alphaess:ALYEAR/series?metric=battery_power&from=2024-06-01T00:00:00Z&to=2024-06-02T00:00:00Z"));
}

// A second device, "alphaess:ENERGY", with three lifetime counters every 10 s over the same days
// (site energy's worst case: every value is read), packed into blocks as the writer would.
void write_counters(storage::Connection& db, int frames) {
  storage::Store store(db);
  db.exec("BEGIN IMMEDIATE");
  const auto device = store.upsert_device("alphaess", "ENERGY", year_start_s * 1000, "127.0.0.1:1");
  db.exec("COMMIT");
  std::vector<Reading> counters{{"pv_energy_total", "kWh", 0, true},
                                {"grid_import_energy_total", "kWh", 0, true},
                                {"grid_export_energy_total", "kWh", 0, true}};
  in_transactions(db, store, frames, 1000, [&](int i) {
    counters[0].value = 1000 + i * 0.0125;  // a 4.5 kW average would be 0.0125 kWh per 10 s
    counters[1].value = 500 + i * 0.002;
    counters[2].value = 300 + i * 0.006;
    store.insert_samples(device, (year_start_s + 10LL * i) * 1000, counters);
  });
  compact_all_samples(db, store);
}

// /api/v1/site/energy for every day of the year of those counters, in Europe/Berlin.
void report_site_energy(const std::string& path) {
  storage::Connection db(path, storage::Connection::Mode::read_only);
  const NoneConnected live;
  api::Settings settings{.max_points = 1'000'000, .version = "bench"};
  settings.site = {.name = "bench", .timezone = "Europe/Berlin", .pv = {"alphaess:ENERGY"}, .grid = {"alphaess:ENERGY"}, .battery = {}};
  const api::Api api(settings, live);
  storage::HistoryReader history(db);
  const std::string target = "/api/v1/site/energy?period=day&from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z";
  double best = 1e9;
  std::size_t rows = 0;
  for (int run = 0; run < 5; ++run) {
    const auto start = Clock::now();
    const auto r = api.handle({"GET", target, ""}, history, (year_start_s + 366LL * 86400) * 1000);
    best = std::min(best, seconds_since(start) * 1000);
    if (r.status != 200) std::printf("  %s -> %u\n", target.c_str(), r.status);
    rows = 0;
    for (std::size_t at = r.body.find("\"start\""); at != std::string::npos; at = r.body.find("\"start\"", at + 1)) ++rows;
  }
  std::printf("site energy, best of 5 (API code, no HTTP): a year of days from three 10-second counters %.1f ms (%zu rows)\n",
              best, rows);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "year";
  std::string path = "bench-storage.db";
  int days = 365;
  int batch = 1000;
  int devices = 1;
  bool pack = true;
  CLI::App app{"sunkeep storage benchmarks (no network)"};
  app.add_option("mode", mode, "year | ceiling | ingest")->check(CLI::IsMember({"year", "ceiling", "ingest"}));
  app.add_option("--db", path, "database file (replaced)");
  app.add_option("--days", days, "days of 10-second data");
  app.add_option("--batch", batch, "frames per transaction");
  app.add_option("--devices", devices, "ceiling: spread the records over this many devices");
  app.add_flag("!--no-pack", pack, "ceiling: leave the frames and records unpacked, a backlog for a server to pack (samples are packed)");
  CLI11_PARSE(app, argc, argv);

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  const int frames = days * 8640;
  Db db(path);
  if (mode == "ceiling") {
    run_ceiling(db.connection, frames, batch, devices, pack);
    return 0;
  }
  const auto start = Clock::now();
  run_ingest(db.connection, frames, batch);
  const double s = seconds_since(start);
  std::printf("ingest: %d frames in %.1f s = %.0f frames/s (decode + store, %d per transaction)\n", frames, s, frames / s, batch);
  if (mode == "year") {
    report_size(db.connection, path);
    report_queries(path);
    write_counters(db.connection, frames);
    report_site_energy(path);
  }
  return 0;
}
