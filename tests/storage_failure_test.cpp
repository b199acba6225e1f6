// The writer on a failing disk: a database that cannot grow (SQLite's max_page_count, as on a
// full disk) keeps every committed sample readable and every sample batch stored until the drain
// has written it, backs off instead of retrying in a busy loop, logs the failure once and its end
// once, and fails jobs with the storage's own error.
#include "storage/errors.hpp"
#include "storage/history.hpp"
#include "storage/sqlite.hpp"
#include "storage/writer.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/log_capture.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::storage;
using namespace std::chrono_literals;

namespace {

constexpr UtcMillis t0 = 1709424000000;
constexpr int records = 2000;  // their samples need pages of their own in `sample`

Writer::Job record_job(int i, std::size_t frame_bytes = 0) {
  return [i, frame_bytes](Store& store) {
    const DeviceId device = store.upsert_device("alphaess", "F1", t0, "127.0.0.1:1");
    const UtcMillis t = t0 + i * 10'000;
    FrameId frame = 0;
    if (frame_bytes > 0) {
      const std::vector<std::uint8_t> raw(frame_bytes, 0x5a);
      frame = store.archive_frame({.device = device, .peer = "127.0.0.1:1", .received = t, .command = 16, .raw = raw});
    }
    store.insert_record({.device = device, .kind = 1, .device_time = std::to_string(t), .utc = t, .received = t,
                         .frame = frame, .fields_hash = i,
                         .samples = {{"Pbat", "W", 1.0 * i, false}, {"SOC", "%", 50.0, false}}});
  };
}

boost::system::error_code commit(Writer& writer, Writer::Job job) {
  boost::asio::io_context io;
  boost::system::error_code result = make_error_code(StorageErrc::stopped);
  writer.async_commit(std::move(job), boost::asio::bind_executor(io, [&](boost::system::error_code ec) { result = ec; }));
  io.run();
  return result;
}

std::int64_t readable_points(const std::string& path, const Writer& writer) {
  Connection db(path, Connection::Mode::read_only);
  HistoryReader reader(db, &writer.recent());
  const auto series = reader.series(1, "Pbat");
  if (!series) return -1;
  return static_cast<std::int64_t>(reader.raw_points(series->id, {t0, t0 + records * 10'000}).size());
}

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::int64_t count(const std::string& path, const std::string& sql) {
  Connection db(path, Connection::Mode::read_only);
  return db.query_int(sql);
}

}  // namespace

TEST_CASE("storage failure: on a full disk the last run's batches stay readable and stored until a drain writes them") {
  test::TempDir dir;
  const std::string path = dir.file("full.db");
  {
    Writer writer(path, {.drain_interval = 1h});
    for (int i = 0; i < records; ++i) REQUIRE_FALSE(commit(writer, record_job(i)));
  }
  {
    // Room that a test can free later while the database stays at its page limit.
    Connection db(path);
    db.exec("CREATE TABLE filler (x BLOB)");
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
            "INSERT INTO filler SELECT zeroblob(4000) FROM n");
  }
  const std::int64_t pages = count(path, "PRAGMA page_count");
  REQUIRE(count(path, "SELECT count(*) FROM sample_batch") == records);

  test::LogCapture log;  // read once the writer is gone: its sink is not to be read while it logs
  {
    const auto started = std::chrono::steady_clock::now();
    Writer full(path, {.drain_interval = 1h, .failure_pause = 20ms, .max_failure_pause = 160ms, .max_page_count = pages});
    // Readable at once, though nothing could be written.
    CHECK(readable_points(path, full) == records);
    REQUIRE(eventually([&] { return full.storage_status() != "ok"; }));
    CHECK(full.storage_status().starts_with("failing: database or disk is full"));

    // A frame that needs pages of its own is not stored, with the storage's own error.
    const auto refused = commit(full, record_job(records, 20'000));
    CHECK(refused == make_error_code(StorageErrc::full));
    CHECK(refused.message() == "database or disk is full");

    // The drain retries with pauses doubling to 160 ms (20, 40, 80, then 160 ms apart): a
    // handful of attempts, not thousands, and one log line for all of them (checked below).
    std::this_thread::sleep_for(700ms);
    const auto failed_steps = full.stats().failed_background_steps;
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(failed_steps >= 3);
    CHECK(failed_steps <= 5 + static_cast<std::uint64_t>(elapsed / 160ms));
    CHECK(readable_points(path, full) == records);
    CHECK(count(path, "SELECT count(*) FROM sample_batch") == records);

    // Space is freed while it runs: the drain goes on after its pause and says so once.
    Connection other(path);
    other.exec("DELETE FROM filler");
    REQUIRE(eventually([&] { return count(path, "SELECT count(*) FROM sample_batch") == 0; }));
    CHECK(eventually([&] { return full.storage_status() == "ok"; }));
    CHECK(count(path, "SELECT count(*) FROM sample") == 2 * records);
    CHECK(readable_points(path, full) == records);
  }
  CHECK(log.lines_with("moving samples into the sample table failed") == 1);
  CHECK(log.lines_with("failing: database or disk is full") == 1);  // for the refused frame, once
  CHECK(log.lines_with("moving samples into the sample table works again") == 1);
  CHECK(log.lines_with("works again") == 2);  // the drain, and the commits as a whole
  Writer again(path);
  CHECK(readable_points(path, again) == records);
  CHECK(count(path, "SELECT count(*) FROM sample") == 2 * records);
}

TEST_CASE("storage failure: a restart on a full disk after a crash keeps every batch until it is drained") {
  // The crash: the batches of a run that ended without a drain (the writer's destructor drains
  // nothing), then starts on a full disk twice; each start must neither lose nor delete a batch.
  test::TempDir dir;
  const std::string path = dir.file("crash.db");
  {
    Writer writer(path, {.drain_interval = 1h});
    for (int i = 0; i < records; ++i) REQUIRE_FALSE(commit(writer, record_job(i)));
  }
  const std::int64_t pages = count(path, "PRAGMA page_count");
  for (int start = 0; start < 2; ++start) {
    CAPTURE(start);
    Writer full(path, {.drain_interval = 1h, .failure_pause = 20ms, .max_failure_pause = 40ms, .max_page_count = pages});
    CHECK(readable_points(path, full) == records);
    REQUIRE(eventually([&] { return full.stats().failed_background_steps >= 2; }));
    CHECK(count(path, "SELECT count(*) FROM sample_batch") == records);
  }
  Writer roomy(path, {.drain_interval = 1h});
  CHECK(readable_points(path, roomy) == records);
  REQUIRE(eventually([&] { return count(path, "SELECT count(*) FROM sample_batch") == 0; }));
  CHECK(count(path, "SELECT count(*) FROM sample") == 2 * records);
}
