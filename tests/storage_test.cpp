// Storage: idempotent records, events and config snapshots, clock offsets, migrations.
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"
#include "storage/store.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

using namespace sunkeep;
using namespace sunkeep::storage;

namespace {

struct Db {
  test::TempDir dir;
  Connection db{dir.file("s.db")};
  Db() {
    configure_durable(db);
    migrate(db);
  }
};

RecordRow record(DeviceId device, const std::string& fields, std::vector<Reading> samples = {}) {
  return {.device = device, .kind = 1, .device_time = "2024/03/03 22:05:21", .utc = 1709503521000,
          .received = 1709503522000, .frame = 1, .fields_hash = fields_hash(fields), .samples = std::move(samples)};
}

}  // namespace

TEST_CASE("store: a record is stored once - a repeat is a duplicate / a differing one a conflict") {
  Db d;
  Store store(d.db);
  const DeviceId dev = store.upsert_device("alphaess", "AL1", 1000, "127.0.0.1:1");
  CHECK(store.upsert_device("alphaess", "AL1", 2000, "127.0.0.1:2") == dev);
  const std::vector<Reading> samples{{"Pbat", "W", 539.44, false}, {"battery_power", "W", 539.44, true}};
  CHECK(store.insert_record(record(dev, R"({"Pbat":"539.44"})", samples)) == InsertOutcome::inserted);
  CHECK(store.insert_record(record(dev, R"({"Pbat":"539.44"})", samples)) == InsertOutcome::duplicate);
  CHECK(store.insert_record(record(dev, R"({"Pbat":"1.0"})", samples)) == InsertOutcome::conflict);
  CHECK(d.db.query_int("SELECT count(*) FROM record") == 1);
  CHECK(d.db.query_int("SELECT count(*) FROM sample_batch") == 1);  // one row for the record's samples
  CHECK(store.move_batches_to_samples(10) == 1);
  CHECK(d.db.query_int("SELECT count(*) FROM sample") == 2);
  CHECK(d.db.query_int("SELECT count(*) FROM sample_batch") == 0);
  CHECK(d.db.query_int("SELECT fields_hash FROM record") == fields_hash(R"({"Pbat":"539.44"})"));  // the first
  CHECK(fields_hash(R"({"Pbat":"539.44"})") != fields_hash(R"({"Pbat":"1.0"})"));
  store.flush_device_state();
  CHECK(d.db.query_int("SELECT last_seen_ms FROM device") == 2000);
  CHECK(d.db.query_int("SELECT canonical FROM series WHERE name = 'battery_power'") == 1);
}

TEST_CASE("store: each sample goes to the series it names, whatever its position in the record") {
  Db d;
  Store store(d.db);
  const DeviceId dev = store.upsert_device("alphaess", "AL1", 1000, "127.0.0.1:1");
  const DeviceId other = store.upsert_device("alphaess", "AL2", 1000, "127.0.0.1:2");
  auto at = [](DeviceId device, int second, std::vector<Reading> samples) {
    RecordRow row = record(device, "{}", std::move(samples));
    row.device_time = "2024/03/03 22:05:" + std::to_string(10 + second);
    row.utc += second * 1000;
    return row;
  };
  store.insert_record(at(dev, 0, {{"A", "W", 1, false}, {"B", "W", 2, false}}));
  store.insert_record(at(dev, 1, {{"B", "W", 3, false}, {"A", "W", 4, false}}));  // the same names, swapped
  store.insert_record(at(dev, 2, {{"C", "W", 5, false}, {"A", "W", 6, false}}));  // a new one first
  store.insert_record(at(dev, 3, {{"A", "W", 7, false}, {"B", "W", 8, false}, {"C", "W", 9, false}}));
  store.insert_record(at(other, 0, {{"A", "W", 10, false}}));  // the same name, another device
  CHECK(store.move_batches_to_samples(10) == 5);
  auto values_of = [&](DeviceId device, const char* name) {
    auto s = d.db.prepare("SELECT group_concat(value, ',') FROM (SELECT value FROM sample JOIN series ON series.id = "
                          "series_id WHERE device_id = ?1 AND name = ?2 ORDER BY t_ms)");
    s.bind(1, device).bind(2, std::string(name));
    REQUIRE(s.step());
    return s.text(0);
  };
  CHECK(values_of(dev, "A") == "1.0,4.0,6.0,7.0");
  CHECK(values_of(dev, "B") == "2.0,3.0,8.0");
  CHECK(values_of(dev, "C") == "5.0,9.0");
  CHECK(values_of(other, "A") == "10.0");
  CHECK(d.db.query_int("SELECT count(*) FROM series") == 4);
}

TEST_CASE("store: EventLog entries are deduplicated on (device / time / code) - messages are not") {
  Db d;
  Store store(d.db);
  const DeviceId dev = store.upsert_device("alphaess", "AL1", 1, "p");
  const EventRow entry{.device = dev, .source = "EventLog", .device_time = "2021/03/24 10:01:40", .code = "41",
                       .text = std::nullopt, .utc = 1, .received = 2, .frame = 1};
  CHECK(store.insert_event(entry));
  CHECK_FALSE(store.insert_event(entry));
  EventRow other_code = entry;
  other_code.code = "42";
  CHECK(store.insert_event(other_code));
  const EventRow socket{.device = dev, .source = "Socket", .device_time = std::nullopt, .code = std::nullopt,
                        .text = "Socket is closed!", .utc = 5, .received = 5, .frame = 2};
  CHECK(store.insert_event(socket));
  CHECK(store.insert_event(socket));
  CHECK(d.db.query_int("SELECT count(*) FROM event") == 4);
}

TEST_CASE("store: an identical config snapshot only updates its last-seen time") {
  Db d;
  Store store(d.db);
  const DeviceId dev = store.upsert_device("alphaess", "AL1", 1, "p");
  CHECK(store.store_config(dev, 100, 1, R"({"a":"1"})", "[]"));
  CHECK_FALSE(store.store_config(dev, 200, 2, R"({"a":"1"})", "[]"));
  CHECK(store.store_config(dev, 300, 3, R"({"a":"2"})", "[]"));
  CHECK(d.db.query_int("SELECT count(*) FROM config_snapshot") == 2);
  CHECK(d.db.query_int("SELECT last_seen_ms FROM config_snapshot WHERE id = 1") == 200);
}

TEST_CASE("store: the clock offset is the maximum of the last 30 samples and survives reopening") {
  Db d;
  DeviceId dev = 0;
  {
    Store store(d.db);
    dev = store.upsert_device("alphaess", "AL1", 1, "p");
    CHECK_FALSE(store.clock_offset(dev));
    CHECK(store.add_clock_sample(dev, -5000) == -5000);
    CHECK(store.add_clock_sample(dev, 1000) == 1000);   // a larger sample wins
    CHECK(store.add_clock_sample(dev, -9000) == 1000);  // a late frame does not lower it
    for (int i = 0; i < 29; ++i) store.add_clock_sample(dev, -2000);
    CHECK(store.clock_offset(dev) == -2000);  // 1000 has left the window
    store.flush_device_state();
  }
  CHECK(d.db.query_int("SELECT json_array_length(clock_samples) FROM device") == 30);
  CHECK(d.db.query_int("SELECT clock_samples LIKE '[-9000,-2000,%,-2000]' FROM device") == 1);
  CHECK(d.db.query_int("SELECT last_seen_ms FROM device") == 1);  // saved with the samples
  {
    Store reopened(d.db);
    CHECK(reopened.clock_offset(dev) == -2000);
    CHECK(d.db.query_int("SELECT clock_offset_ms FROM device") == -2000);
    reopened.add_clock_sample(dev, -1000);  // a sample without a new last-seen time
    reopened.flush_device_state();
  }
  Store again(d.db);
  CHECK(again.clock_offset(dev) == -1000);
  CHECK(d.db.query_int("SELECT last_seen_ms FROM device") == 1);
}

TEST_CASE("store: a failed job takes back its clock sample and keeps the other jobs' unsaved ones") {
  Db d;
  Store store(d.db);
  const DeviceId kept = store.upsert_device("alphaess", "AL1", 1, "p");
  const DeviceId full = store.upsert_device("alphaess", "AL2", 1, "p");
  const DeviceId fresh = store.upsert_device("alphaess", "AL3", 1, "p");
  store.begin_job();
  store.add_clock_sample(kept, 1000);
  for (int i = 0; i < 30; ++i) store.add_clock_sample(full, i);
  store.end_job();
  store.begin_job();
  store.add_clock_sample(full, 100);  // pushes 0 out of the window
  store.add_clock_sample(fresh, 7);
  CHECK(store.undo_job());
  CHECK(store.clock_offset(kept) == 1000);
  CHECK(store.clock_offset(full) == 29);
  CHECK_FALSE(store.clock_offset(fresh));
  store.flush_device_state();
  const auto saved_is = [&](DeviceId device, const std::string& pattern) {
    return d.db.query_int("SELECT clock_samples LIKE '" + pattern + "' FROM device WHERE id = " + std::to_string(device)) == 1;
  };
  CHECK(saved_is(kept, "[1000]"));
  CHECK(saved_is(full, "[0,1,2,%,28,29]"));
  CHECK(saved_is(fresh, "[]"));
}

TEST_CASE("store: the newest telemetry record across kinds") {
  Db d;
  Store store(d.db);
  const DeviceId dev = store.upsert_device("alphaess", "AL1", 1, "p");
  const int kinds[] = {1, 2, 3};
  CHECK_FALSE(store.latest_record(dev, kinds));
  RecordRow a = record(dev, "{}");
  a.kind = 2;
  a.device_time = "2024/03/03 22:10:04";
  RecordRow b = record(dev, "{}");
  store.insert_record(a);
  store.insert_record(b);
  const auto latest = store.latest_record(dev, kinds);
  REQUIRE(latest);
  CHECK(latest->device_time == "2024/03/03 22:10:04");
}

TEST_CASE("schema: an older database is upgraded in place and keeps its data") {
  test::TempDir dir;
  {
    Connection old(dir.file("old.db"));
    migrate(old, 1);
    CHECK(old.query_int("PRAGMA user_version") == 1);
    old.exec("INSERT INTO device (vendor, serial, first_seen_ms, last_seen_ms) VALUES ('alphaess', 'AL1', 1, 2)");
  }
  Connection db(dir.file("old.db"));
  migrate(db);
  CHECK(db.query_int("PRAGMA user_version") == latest_schema_version());
  CHECK(db.query_int("SELECT count(*) FROM device WHERE serial = 'AL1'") == 1);
  CHECK(db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'rejection'") == 1);
  migrate(db);  // idempotent
  CHECK(db.query_int("PRAGMA user_version") == latest_schema_version());
}

TEST_CASE("schema: a record stored with its fields JSON before version 6 still tells a repeat from a conflict") {
  test::TempDir dir;
  Connection db(dir.file("v5.db"));
  migrate(db, 5);
  db.exec("INSERT INTO device (vendor, serial, first_seen_ms, last_seen_ms) VALUES ('alphaess', 'AL1', 1, 2)");
  db.exec(R"(INSERT INTO record (device_id, kind, device_time, utc_ms, received_ms, frame_id, fields) )"
          R"(VALUES (1, 1, '2024/03/03 22:05:21', 1709503521000, 1709503522000, 1, '{"Pbat":"539.44"}'))");
  migrate(db);
  Store store(db);
  CHECK(store.insert_record(record(1, R"({"Pbat":"539.44"})")) == InsertOutcome::duplicate);
  CHECK(store.insert_record(record(1, R"({"Pbat":"1.0"})")) == InsertOutcome::conflict);
  CHECK(db.query_int("SELECT count(*) FROM record") == 1);
}

TEST_CASE("schema: a database from a newer sunkeep is refused / not damaged") {
  test::TempDir dir;
  Connection db(dir.file("new.db"));
  db.exec("PRAGMA user_version = 99");
  CHECK_THROWS_AS(migrate(db), StorageError);
  CHECK(db.query_int("PRAGMA user_version") == 99);
}

TEST_CASE("schema: the database runs in WAL mode with full sync") {
  Db d;
  auto mode = d.db.prepare("PRAGMA journal_mode");
  REQUIRE(mode.step());
  CHECK(mode.text(0) == "wal");
  CHECK(d.db.query_int("PRAGMA synchronous") == 2);
}

namespace {
// Whether any statement of the connection is part-way through its rows (holding a read transaction).
bool any_statement_busy(Connection& db) {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s)) {
    if (sqlite3_stmt_busy(s)) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("sqlite: a statement is kept for reuse - reset, its bindings cleared, holding no read transaction") {
  Db d;
  d.db.exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3)");
  const std::string_view sql = "SELECT x FROM t WHERE x >= ?1 ORDER BY x";
  const std::size_t idle_before = d.db.idle_statements();
  {
    auto first = d.db.prepare(sql);
    first.bind(1, std::int64_t{2});
    REQUIRE(first.step());
    CHECK(first.int64(0) == 2);
    CHECK(any_statement_busy(d.db));
  }  // dropped part-way through its rows
  CHECK(d.db.idle_statements() == idle_before + 1);
  CHECK_FALSE(any_statement_busy(d.db));
  {
    auto again = d.db.prepare(sql);
    CHECK(d.db.idle_statements() == idle_before);  // the kept one, not a new one
    CHECK_FALSE(again.step());                     // x >= NULL: the old binding is gone
    again.reset();
    again.bind(1, std::int64_t{3});
    REQUIRE(again.step());
    CHECK(again.int64(0) == 3);
    auto second = d.db.prepare(sql);  // the same SQL while the first is in use: its own statement
    second.bind(1, std::int64_t{1});
    REQUIRE(second.step());
    CHECK(second.int64(0) == 1);
    CHECK_FALSE(again.step());
  }
  CHECK(d.db.idle_statements() == idle_before + 2);
}
