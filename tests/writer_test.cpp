// The writer: committed samples are readable at once (from memory), drain into the `sample`
// table without a reader ever missing one, survive a stop before the drain, and a failed job's
// samples are never published.
#include "storage/history.hpp"
#include "storage/sqlite.hpp"
#include "storage/tuning_override.hpp"
#include "storage/writer.hpp"
#include "tests/support/fixtures.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::storage;

namespace {

constexpr UtcMillis t0 = 1709424000000;
constexpr int records = 50;

// A job storing record `i` of device W1: Pbat = i and SOC = 100 - i at t0 + i × 10 s.
Writer::Job record_job(int i) {
  return [i](Store& store) {
    const DeviceId device = store.upsert_device("alphaess", "W1", t0, "127.0.0.1:1");
    const UtcMillis t = t0 + i * 10'000;
    store.insert_record({.device = device, .kind = 1, .device_time = std::to_string(t), .utc = t, .received = t,
                         .frame = 0, .fields_hash = 0,
                         .samples = {{"Pbat", "W", 1.0 * i, false}, {"SOC", "%", 100.0 - i, false}}});
  };
}

// Commits the jobs, each in its own call, and returns their results once all have completed.
std::vector<boost::system::error_code> commit_all(Writer& writer, std::vector<Writer::Job> jobs) {
  boost::asio::io_context io;
  std::vector<boost::system::error_code> results(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    writer.async_commit(std::move(jobs[i]), boost::asio::bind_executor(io, [&results, i](boost::system::error_code ec) {
                          results[i] = ec;
                        }));
  }
  io.run();
  return results;
}

std::vector<Writer::Job> record_jobs() {
  std::vector<Writer::Job> jobs;
  for (int i = 0; i < records; ++i) jobs.push_back(record_job(i));
  return jobs;
}

std::int64_t pbat_points(Connection& db, const RecentSamples* recent) {
  HistoryReader reader(db, recent);
  const auto series = reader.series(1, "Pbat");
  if (!series) return -1;
  return static_cast<std::int64_t>(reader.raw_points(series->id, {t0, t0 + records * 10'000}).size());
}

}  // namespace

TEST_CASE("writer: committed samples are readable at once and drain into the sample table unseen") {
  test::TempDir dir;
  Writer writer(dir.file("w.db"), {.drain_interval = std::chrono::hours(1), .drain_threshold = 2 * records,
                                   .drain_slice_points = 7, .batch_delete_step = 7});
  for (const auto& ec : commit_all(writer, record_jobs())) CHECK_FALSE(ec);
  Connection db(dir.file("w.db"), Connection::Mode::read_only);
  // The 100 samples reach the drain threshold: a reader polls while the writer drains them in
  // slices of 7, and must see all 50 points of the series every time. The 50 batches are then
  // deleted 7 at a time.
  std::int64_t fewest = records;
  for (int attempt = 0; attempt < 500 && db.query_int("SELECT count(*) FROM sample_batch") > 0; ++attempt) {
    fewest = std::min(fewest, pbat_points(db, &writer.recent()));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(fewest == records);
  CHECK(db.query_int("SELECT count(*) FROM sample_batch") == 0);
  CHECK(db.query_int("SELECT count(*) FROM sample") == 2 * records);
  CHECK(writer.recent().size() == 0);
  CHECK(writer.stats().samples_drained == 2 * records);
  CHECK(pbat_points(db, &writer.recent()) == records);
}

TEST_CASE("writer: while jobs keep coming, a drain step rides in their group commit") {
  test::TempDir dir;
  Writer writer(dir.file("w.db"), {.drain_interval = std::chrono::hours(1), .drain_threshold = 2 * records,
                                   .drain_slice_points = 7, .batch_delete_step = 7});
  boost::asio::io_context io;
  int acked = 0;
  const auto count_ack = [&] {
    return boost::asio::bind_executor(io, [&acked](boost::system::error_code ec) {
      CHECK_FALSE(ec);
      ++acked;
    });
  };
  // The last of the 50 records reaches the drain threshold, and its job queues three more: the
  // drain starts after its commit and finds them waiting.
  auto jobs = record_jobs();
  jobs.back() = [&, last = std::move(jobs.back())](Store& store) {
    last(store);
    for (int i = records; i < records + 3; ++i) writer.async_commit(record_job(i), count_ack());
  };
  for (auto& job : jobs) writer.async_commit(std::move(job), count_ack());
  io.run();
  CHECK(acked == records + 3);
  Connection db(dir.file("w.db"), Connection::Mode::read_only);
  for (int attempt = 0; attempt < 500 && db.query_int("SELECT count(*) FROM sample_batch") > 3; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The first slice went with the three jobs' commit; the rest, with no jobs waiting, alone.
  CHECK(writer.stats().drain_steps_shared == 1);
  CHECK(writer.stats().samples_drained == 2 * records);
  CHECK(db.query_int("SELECT count(*) FROM sample") == 2 * records);
  CHECK(db.query_int("SELECT count(*) FROM sample_batch") == 3);  // the three jobs' batches, not frozen yet
  CHECK(pbat_points(db, &writer.recent()) == records);
}

TEST_CASE("writer: the drain pauses between steps unless it falls behind") {
  test::TempDir dir;
  // Pauses of ten million times a step (hours): only falling behind can make a second step come soon.
  Writer writer(dir.file("w.db"), {.drain_interval = std::chrono::hours(1), .drain_threshold = 2 * records,
                                   .drain_slice_points = 7, .drain_pause_factor = 10'000'000});
  const auto drained_within = [&writer](std::uint64_t points) {
    for (int attempt = 0; attempt < 1000 && writer.stats().samples_drained < points; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return writer.stats().samples_drained;
  };
  for (const auto& ec : commit_all(writer, record_jobs())) CHECK_FALSE(ec);
  // The 100 points are frozen; the first step drains one of the two series, then the drain pauses.
  CHECK(drained_within(records) == records);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(writer.stats().samples_drained == records);
  // As many points again arrive before the drain is through: it is behind and goes on at once.
  std::vector<Writer::Job> more;
  for (int i = records; i < 2 * records; ++i) more.push_back(record_job(i));
  for (const auto& ec : commit_all(writer, std::move(more))) CHECK_FALSE(ec);
  CHECK(drained_within(2 * records) == 2 * records);
}

TEST_CASE("writer: samples still in batches when it stops are readable on the next start and drained there") {
  test::TempDir dir;
  {
    Writer writer(dir.file("w.db"), {.drain_interval = std::chrono::hours(1)});
    for (const auto& ec : commit_all(writer, record_jobs())) CHECK_FALSE(ec);
    Connection db(dir.file("w.db"), Connection::Mode::read_only);
    CHECK(db.query_int("SELECT count(*) FROM sample") == 0);
    CHECK(db.query_int("SELECT count(*) FROM sample_batch") == records);
    CHECK(pbat_points(db, &writer.recent()) == records);  // from memory
  }
  Writer reopened(dir.file("w.db"), {.drain_interval = std::chrono::hours(1)});
  Connection db(dir.file("w.db"), Connection::Mode::read_only);
  CHECK(pbat_points(db, &reopened.recent()) == records);
  // Drained at the writer's first turn, not after the drain interval.
  for (int wait = 0; wait < 500 && db.query_int("SELECT count(*) FROM sample_batch") > 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(db.query_int("SELECT count(*) FROM sample_batch") == 0);
  CHECK(db.query_int("SELECT count(*) FROM sample") == 2 * records);
  CHECK(pbat_points(db, &reopened.recent()) == records);
  CHECK(db.query_int("SELECT last_seen_ms FROM device") == t0);
}

TEST_CASE("writer: a failed job's samples are neither stored nor shown, and the rest of its batch is") {
  test::TempDir dir;
  Writer writer(dir.file("w.db"), {.drain_interval = std::chrono::hours(1)});
  std::vector<Writer::Job> jobs;
  jobs.push_back(record_job(0));
  jobs.push_back([](Store& store) {
    record_job(1)(store);
    throw std::runtime_error("a job that fails after storing its record");
  });
  jobs.push_back(record_job(2));
  const auto results = commit_all(writer, std::move(jobs));
  CHECK_FALSE(results[0]);
  CHECK(results[1]);
  CHECK_FALSE(results[2]);
  Connection db(dir.file("w.db"), Connection::Mode::read_only);
  CHECK(db.query_int("SELECT count(*) FROM record") == 2);
  CHECK(db.query_int("SELECT count(*) FROM sample_batch") == 2);
  HistoryReader reader(db, &writer.recent());
  const auto series = reader.series(1, "Pbat");
  REQUIRE(series);
  CHECK(reader.raw_points(series->id, {t0, t0 + 60'000}) == std::vector<Point>{{t0, 0.0}, {t0 + 20'000, 2.0}});
}

TEST_CASE("writer: a job completes only after the log holding its commit is synced") {
  test::TempDir dir;
  Writer writer(dir.file("w.db"));
  boost::asio::io_context io;
  std::vector<WriterStats> at_completion;
  for (int i = 0; i < 3; ++i) {
    writer.async_commit(record_job(i), boost::asio::bind_executor(io, [&](boost::system::error_code ec) {
                          CHECK_FALSE(ec);
                          at_completion.push_back(writer.stats());
                        }));
    io.restart();
    io.run();  // one commit and its sync after another
  }
  REQUIRE(at_completion.size() == 3);
  for (std::size_t i = 0; i < at_completion.size(); ++i) {
    CAPTURE(i);
    CHECK(at_completion[i].transactions == i + 1);
    CHECK(at_completion[i].log_syncs == i + 1);
  }
  CHECK(writer.stats().failed_log_syncs == 0);
}

TEST_CASE("writer: a job is freed on the thread that runs its completion, not the writer's") {
  // What a session's thread allocated is freed there: glibc's free() from another thread takes
  // that thread's arena lock, which held the writer under load (writer.hpp).
  struct Tracker {
    std::atomic<std::thread::id>* freed_on;
    ~Tracker() { *freed_on = std::this_thread::get_id(); }
  };
  test::TempDir dir;
  Writer writer(dir.file("w.db"));
  std::atomic<std::thread::id> freed_on;
  std::shared_ptr<Tracker> tracker(new Tracker{&freed_on});
  std::vector<Writer::Job> jobs;
  jobs.push_back([tracker](Store& store) { record_job(0)(store); });
  tracker.reset();
  const auto results = commit_all(writer, std::move(jobs));
  CHECK_FALSE(results[0]);
  CHECK(freed_on.load() == std::this_thread::get_id());
}

TEST_CASE("writer: checkpoints run beside the writer - the WAL is restarted, or truncated once it outgrows its limit") {
  test::TempDir dir;
  const std::string path = dir.file("w.db");
  const auto file_size = [](const std::string& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    return ec ? std::uintmax_t{0} : size;
  };
  SUBCASE("the checkpoint thread copies committed pages into the database file") {
    Writer writer(path, {.checkpoint_interval = std::chrono::milliseconds(10)});
    const auto before = file_size(path);
    for (const auto& ec : commit_all(writer, record_jobs())) CHECK_FALSE(ec);
    for (int attempt = 0; attempt < 200 && file_size(path) <= before; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(file_size(path) > before);
  }
  SUBCASE("an idle checkpoint thread makes no passes until something is committed") {
    Writer writer(path, {.checkpoint_interval = std::chrono::milliseconds(5)});
    for (const auto& ec : commit_all(writer, record_jobs())) CHECK_FALSE(ec);
    std::uint64_t passes = 0;
    for (int attempt = 0; attempt < 200 && passes == 0; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      passes = writer.stats().checkpoint_passes;
    }
    REQUIRE(passes > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last commits' pass, if not yet
    passes = writer.stats().checkpoint_passes;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 60 intervals, nothing committed
    CHECK(writer.stats().checkpoint_passes == passes);
    std::vector<Writer::Job> one;
    one.push_back(record_job(1000));
    CHECK_FALSE(commit_all(writer, std::move(one))[0]);
    for (int attempt = 0; attempt < 200 && writer.stats().checkpoint_passes == passes; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(writer.stats().checkpoint_passes > passes);  // woken by the commit
  }
  SUBCASE("with no checkpoint thread to speak of, the writer bounds the WAL itself") {
    Writer writer(path, {.checkpoint_interval = std::chrono::hours(1), .wal_limit_bytes = 64 * 1024});
    constexpr int commits = 256;  // one record each: ~6 MB of WAL if nothing restarted it
    for (int i = 0; i < commits; ++i) {
      std::vector<Writer::Job> one;
      one.push_back(record_job(i));
      CHECK_FALSE(commit_all(writer, std::move(one))[0]);
    }
    CHECK(file_size(path + "-wal") < 2 * 1024 * 1024);
  }
  SUBCASE("once the log holds wal_restart_bytes it is written from its beginning again, never truncated") {
    constexpr std::uintmax_t restart_bytes = 128 * 1024;
    Writer writer(path, {.checkpoint_interval = std::chrono::milliseconds(5),
                         .wal_restart_bytes = restart_bytes,
                         .wal_limit_bytes = std::uintmax_t{1} << 40});
    // Commits back to back, as under load: a pass of the checkpoint thread never finds the log
    // fully copied then, and only the writer's copy of the rest lets it start again.
    constexpr int commits = 256;  // one record each: ~6 MB of WAL if nothing restarted it
    std::uintmax_t largest_log = 0;
    for (int i = 0; i < commits; ++i) {
      std::vector<Writer::Job> one;
      one.push_back(record_job(i));
      CHECK_FALSE(commit_all(writer, std::move(one))[0]);
      largest_log = std::max(largest_log, file_size(path + "-wal"));
    }
    CHECK(writer.stats().wal_restarts > 0);
    CHECK(largest_log < 1024 * 1024);  // the restart size and the commits until the next pass
    // Writing over the log's first pages lost nothing: every record is there for a new reader.
    Connection reader(path, Connection::Mode::read_only);
    CHECK(reader.query_int("SELECT count(*) FROM record") == commits);
  }
}

TEST_CASE("writer: tuning overrides for tests and benchmarks set the named fields and name what they cannot use") {
  const WriterTuning tuning = override_tuning(
      {}, "drain_interval_ms=250,drain_threshold=5000,drain_slice_points=100,batch_delete_step=50,"
          "wal_restart_bytes=524288,wal_limit_bytes=4194304,drain_pause_factor=7,checkpoint_interval_ms=900,"
          "short_checkpoint_ms=5");
  CHECK(tuning.drain_interval == std::chrono::milliseconds(250));
  CHECK(tuning.drain_threshold == 5000);
  CHECK(tuning.drain_slice_points == 100);
  CHECK(tuning.batch_delete_step == 50);
  CHECK(tuning.wal_restart_bytes == 524288);
  CHECK(tuning.wal_limit_bytes == 4194304);
  CHECK(tuning.drain_pause_factor == 7);
  CHECK(tuning.checkpoint_interval == std::chrono::milliseconds(900));
  CHECK(tuning.short_checkpoint == std::chrono::milliseconds(5));
  CHECK(tuning.max_batch == WriterTuning{}.max_batch);  // the rest keep their defaults
  CHECK(override_tuning({}, "").drain_interval == WriterTuning{}.drain_interval);
  CHECK_THROWS_WITH(override_tuning({}, "drain_interval_ms=250,drain_pause=2"), "unknown key \"drain_pause\"");
  CHECK_THROWS_WITH(override_tuning({}, "wal_restart_bytes=1MB"),
                    "bad value in \"wal_restart_bytes=1MB\": a whole number above 0 is needed");
  CHECK_THROWS_WITH(override_tuning({}, "drain_threshold=0"),
                    "bad value in \"drain_threshold=0\": a whole number above 0 is needed");
  CHECK_THROWS_WITH(override_tuning({}, "drain_threshold"), "\"drain_threshold\" is not key=value");
  CHECK(override_tuning({}, "drain_pause_factor=1000").drain_pause_factor == 1000);
  CHECK_THROWS_WITH(override_tuning({}, "drain_pause_factor=1001"), "bad value in \"drain_pause_factor=1001\": at most 1000");
}
