// Packing closed hours of the raw archive and of the record keys: what the API and the ingest
// path see is the same before, during and after, only the open hour stays in rows, blocks are
// bounded, a frame arriving for an hour being packed is never deleted unpacked, and the
// writer's upkeep does it on its own.
#include "storage/history.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"
#include "tests/support/fixtures.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::storage;

namespace {

constexpr UtcMillis hour = 3'600'000;
constexpr UtcMillis t0 = 1709424000000;  // 2024-03-03T00:00:00Z; the device clock is UTC+1

struct Db {
  test::TempDir dir;
  Connection db{dir.file("p.db")};
  Db() {
    configure_durable(db);
    migrate(db);
  }
};

std::string device_time(UtcMillis utc) { return civil_from_naive_seconds(utc / 1000 + 3600).to_device_string(); }

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// Push `i` of a device (every 10 s from t0, over `hours` hours): its frame, record and ack.
void push(Store& store, DeviceId device, int i) {
  const UtcMillis t = t0 + i * 10'000;
  const std::string payload = R"({"Time":")" + device_time(t) + R"(","Pbat":")" + std::to_string(i) + R"("})";
  const FrameId frame = store.archive_frame({.device = device, .peer = "127.0.0.1:9", .received = t + 300,
                                             .command = 16, .raw = bytes_of(payload)});
  CHECK(store.insert_record({.device = device, .kind = 1, .device_time = device_time(t), .utc = t, .received = t + 300,
                             .frame = frame, .fields_hash = fields_hash(payload), .samples = {}}) ==
        InsertOutcome::inserted);
  store.archive_frame({.device = device, .peer = "127.0.0.1:9", .received = t + 301, .direction = Direction::to_device,
                       .command = 16, .raw = bytes_of(R"({"Status":"Success"})")});
}

RecordRow repeat_of(DeviceId device, int i, const std::string& payload) {
  const UtcMillis t = t0 + i * 10'000;
  return {.device = device, .kind = 1, .device_time = device_time(t), .utc = t, .received = t0 + 5 * hour,
          .frame = 0, .fields_hash = fields_hash(payload), .samples = {}};
}

std::string pbat_payload(int i) {
  return R"({"Time":")" + device_time(t0 + i * 10'000) + R"(","Pbat":")" + std::to_string(i) + R"("})";
}

bool same_frames(const std::vector<FrameItem>& a, const std::vector<FrameItem>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].time != b[i].time || a[i].outgoing != b[i].outgoing || a[i].command != b[i].command ||
        a[i].raw != b[i].raw) {
      return false;
    }
  }
  return true;
}

// Steps until one writes a block (at most 100 steps); returns the frames in it.
std::int64_t next_block(Store& store, UtcMillis cutoff) {
  for (int step = 0; step < 100; ++step) {
    const PackStep done = store.pack_archive(cutoff);
    if (done.frames_packed > 0 || !done.did_work()) return done.frames_packed;
    CHECK(done.frames_read == ArchivePacker::frames_per_step);  // a block is read a slice a step
  }
  return 0;
}

// Packs every closed hour before `cutoff`, step by step; returns the number of steps.
int pack_all(Store& store, UtcMillis cutoff) {
  int steps = 0;
  while (store.pack_archive(cutoff).did_work() && steps < 10'000) ++steps;
  return steps;
}

}  // namespace

TEST_CASE("packing: closed hours move into blocks and every reader sees the same archive and keys") {
  Db d;
  Store store(d.db);
  const DeviceId a = store.upsert_device("alphaess", "A", t0, "127.0.0.1:9");
  const DeviceId b = store.upsert_device("alphaess", "B", t0, "127.0.0.1:9");
  store.archive_frame({.device = std::nullopt, .peer = "127.0.0.1:8", .received = t0 + 1, .command = 1,
                       .raw = bytes_of("before login")});
  for (int i = 0; i < 720; ++i) {  // two hours of both devices, interleaved as a fleet sends them
    push(store, a, i);
    push(store, b, i);
  }
  HistoryReader reader(d.db);
  const TimeRange both_hours{t0, t0 + 2 * hour};
  const auto all_before = reader.frames(a, both_hours, 5000);
  const auto newest_before = reader.frames(a, both_hours, 7);
  const auto span_before = reader.frames(a, {t0 + hour - 35'000, t0 + hour + 25'000}, 5);
  REQUIRE(all_before.size() == 1440);

  // The first hour has closed; the second is still open. Step by step: one block for the frame
  // before login, one per device (with its records), then the hour's rows span by span.
  for (int block = 0; block < 3; ++block) {
    CHECK(next_block(store, t0 + hour) == (block == 0 ? 1 : 720));
    CHECK(d.db.query_int("SELECT count(*) FROM frame") == 4 * 720 + 1);  // rows stay until the hour is done
    CHECK(same_frames(reader.frames(a, both_hours, 5000), all_before));  // one copy per id meanwhile
    CHECK(same_frames(reader.frames(a, both_hours, 7), newest_before));
  }
  std::int64_t deleted = 0;
  for (int step = 0; step < 10; ++step) {
    const auto done = store.pack_archive(t0 + hour);
    CHECK(done.frames_packed == 0);
    CHECK(done.rows_deleted <= ArchivePacker::delete_span);
    deleted += done.rows_deleted;
  }
  CHECK(deleted == 2 * 720 + 1);
  CHECK(d.db.query_int("SELECT count(*) FROM frame") == 2 * 720);
  CHECK(d.db.query_int("SELECT count(*) FROM frame WHERE received_ms < " + std::to_string(t0 + hour)) == 0);
  CHECK(d.db.query_int("SELECT count(*) FROM frame_block") == 3);  // A, B and the frame before login
  CHECK(d.db.query_int("SELECT count(*) FROM frame_block WHERE device_id IS NULL") == 1);
  CHECK(d.db.query_int("SELECT count(*) FROM record") == 2 * 360);
  CHECK(d.db.query_int("SELECT count(*) FROM record_block") == 2);
  CHECK(d.db.query_int("SELECT sum(count) FROM record_block") == 2 * 360);

  CHECK(same_frames(reader.frames(a, both_hours, 5000), all_before));
  CHECK(same_frames(reader.frames(a, both_hours, 7), newest_before));
  CHECK(same_frames(reader.frames(a, {t0 + hour - 35'000, t0 + hour + 25'000}, 5), span_before));
  CHECK(same_frames(reader.frames(a, {t0, t0 + 20'000}, 10), std::vector<FrameItem>(all_before.end() - 4, all_before.end())));

  // A record of a packed hour, sent again, is told apart from a new one without a row.
  CHECK(store.insert_record(repeat_of(a, 5, pbat_payload(5))) == InsertOutcome::duplicate);
  CHECK(store.insert_record(repeat_of(a, 5, pbat_payload(6))) == InsertOutcome::conflict);
  CHECK(store.insert_record(repeat_of(b, 359, pbat_payload(359))) == InsertOutcome::duplicate);
  CHECK(d.db.query_int("SELECT count(*) FROM record") == 2 * 360);

  // Everything packed: the newest record still comes from the blocks.
  constexpr int reads_per_device_hour = 720 / ArchivePacker::frames_per_step + 1;
  CHECK(pack_all(store, t0 + 2 * hour) ==
        2 * reads_per_device_hour + (2 * 720 + ArchivePacker::delete_span - 1) / ArchivePacker::delete_span);
  CHECK(d.db.query_int("SELECT count(*) FROM frame") + d.db.query_int("SELECT count(*) FROM record") == 0);
  CHECK(same_frames(reader.frames(a, both_hours, 5000), all_before));
  const int kinds[] = {1, 2};
  const auto newest = store.latest_record(a, kinds);
  REQUIRE(newest);
  CHECK(newest->device_time == device_time(t0 + 719 * 10'000));
  CHECK(newest->utc == t0 + 719 * 10'000);
  CHECK(pack_all(store, t0 + 3 * hour) == 0);

  // With every row packed, a new frame still gets an id that no block holds, after a restart too
  // (SQLite alone would start again at 1 in an empty table).
  const auto later_raw = bytes_of("later");
  const ArchivedFrame later{.device = a, .peer = "127.0.0.1:9", .received = t0 + 3 * hour, .command = 16,
                            .raw = later_raw};
  const FrameId next = store.archive_frame(later);
  CHECK(next > d.db.query_int("SELECT max(last_id) FROM frame_block"));
  Store restarted(d.db);
  CHECK(restarted.archive_frame(later) == next + 1);
  CHECK(reader.frames(a, {t0, t0 + 4 * hour}, 5000).size() == all_before.size() + 2);
}

TEST_CASE("packing: a late record for a packed hour is merged into its block at the next pass") {
  Db d;
  Store store(d.db);
  const DeviceId a = store.upsert_device("alphaess", "A", t0, "127.0.0.1:9");
  for (int i = 0; i < 360; i += 2) push(store, a, i);  // every other record of the hour
  CHECK(pack_all(store, t0 + hour) == 3 + 1);  // 360 frames read in three steps, one span deleted
  // A Resume backfill sends a missing one hours later, and then the same again.
  CHECK(store.insert_record(repeat_of(a, 7, pbat_payload(7))) == InsertOutcome::inserted);
  CHECK(store.insert_record(repeat_of(a, 7, pbat_payload(7))) == InsertOutcome::duplicate);
  store.archive_frame({.device = a, .peer = "127.0.0.1:9", .received = t0 + 5 * hour, .command = 16,
                       .raw = bytes_of(pbat_payload(7))});
  CHECK(pack_all(store, t0 + 6 * hour) == 2);
  CHECK(d.db.query_int("SELECT count(*) FROM record") == 0);
  CHECK(d.db.query_int("SELECT count(*) FROM record_block") == 1);
  CHECK(d.db.query_int("SELECT count FROM record_block") == 181);
  CHECK(store.insert_record(repeat_of(a, 7, pbat_payload(8))) == InsertOutcome::conflict);
  CHECK(store.insert_record(repeat_of(a, 6, pbat_payload(6))) == InsertOutcome::duplicate);
}

TEST_CASE("packing: a busy hour becomes several blocks, and a frame arriving for a packed hour is kept") {
  Db d;
  Store store(d.db);
  const DeviceId a = store.upsert_device("alphaess", "A", t0, "127.0.0.1:9");
  // 6,000 frames in one hour (one every 0.6 s): six blocks and several spans of ids to delete.
  for (int i = 0; i < 6000; ++i) {
    store.archive_frame({.device = a, .peer = "127.0.0.1:9", .received = t0 + i * 600, .command = 16,
                         .raw = bytes_of("frame " + std::to_string(i))});
  }
  HistoryReader reader(d.db);
  const auto before = reader.frames(a, {t0, t0 + hour}, 10'000);
  REQUIRE(before.size() == 6000);
  for (int block = 0; block < 6; ++block) CHECK(next_block(store, t0 + hour) == (block < 5 ? 1024 : 880));
  CHECK(d.db.query_int("SELECT max(count) FROM frame_block") == ArchivePacker::block_frames);
  CHECK(store.pack_archive(t0 + hour).rows_deleted == ArchivePacker::delete_span);
  // The server clock went back: a frame for the hour being packed arrives now.
  store.archive_frame({.device = a, .peer = "127.0.0.1:9", .received = t0 + 5, .command = 16, .raw = bytes_of("late")});
  std::int64_t deleted = ArchivePacker::delete_span;
  for (int step = 0; step < 100 && deleted < 6000; ++step) deleted += store.pack_archive(t0 + hour).rows_deleted;
  CHECK(deleted == 6000);  // not the late frame: it is in no block yet
  CHECK(d.db.query_int("SELECT count(*) FROM frame") == 1);
  CHECK(store.pack_archive(t0 + hour).frames_packed == 1);
  CHECK(store.pack_archive(t0 + hour).rows_deleted == 1);
  CHECK_FALSE(store.pack_archive(t0 + hour).did_work());
  CHECK(d.db.query_int("SELECT sum(count) FROM frame_block") == 6001);
  const auto after = reader.frames(a, {t0, t0 + hour}, 10'000);
  REQUIRE(after.size() == 6001);
  CHECK(after.back().raw == bytes_of("frame 0"));
  CHECK(after[after.size() - 2].raw == bytes_of("late"));  // received t0 + 5, between frame 0 and 1
  CHECK(same_frames(reader.frames(a, {t0, t0 + hour}, 150), std::vector<FrameItem>(before.begin(), before.begin() + 150)));
}

TEST_CASE("packing: a record stored with its fields JSON before version 6 keeps telling a repeat from a conflict") {
  Db d;
  Store store(d.db);
  const DeviceId a = store.upsert_device("alphaess", "A", t0, "127.0.0.1:9");
  const std::string fields = R"({"Pbat":"5"})";
  d.db.exec("INSERT INTO record (device_id, kind, device_time, utc_ms, received_ms, frame_id, fields) VALUES (" +
            std::to_string(a) + ", 1, '" + device_time(t0) + "', " + std::to_string(t0) + ", " + std::to_string(t0) +
            ", 1, '" + fields + "')");
  store.archive_frame({.device = a, .peer = "p", .received = t0, .command = 16, .raw = bytes_of(fields)});
  CHECK(pack_all(store, t0 + hour) == 2);
  CHECK(d.db.query_int("SELECT count(*) FROM record") == 0);
  RecordRow again{.device = a, .kind = 1, .device_time = device_time(t0), .utc = t0, .received = t0 + 2 * hour,
                  .frame = 0, .fields_hash = fields_hash(fields), .samples = {}};
  CHECK(store.insert_record(again) == InsertOutcome::duplicate);
  again.fields_hash = fields_hash(R"({"Pbat":"6"})");
  CHECK(store.insert_record(again) == InsertOutcome::conflict);
}

TEST_CASE("packing: the writer packs closed hours on its own") {
  test::TempDir dir;
  WriterTuning tuning;
  tuning.compaction_interval = std::chrono::milliseconds(20);
  Writer writer(dir.file("w.db"), tuning);
  boost::asio::io_context io;
  boost::system::error_code result = boost::asio::error::would_block;
  writer.async_commit(
      [](Store& store) {
        const DeviceId a = store.upsert_device("alphaess", "A", t0, "127.0.0.1:9");
        for (int i = 0; i < 30; ++i) push(store, a, i);  // frames received in 2024: long closed
      },
      boost::asio::bind_executor(io, [&](boost::system::error_code ec) { result = ec; }));
  io.run();
  REQUIRE_FALSE(result);
  Connection reader(dir.file("w.db"), Connection::Mode::read_only);
  for (int i = 0; i < 500 && reader.query_int("SELECT count(*) FROM frame") > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(writer.stats().frames_packed == 60);
  CHECK(reader.query_int("SELECT count(*) FROM frame") == 0);
  CHECK(reader.query_int("SELECT sum(count) FROM frame_block") == 60);
  CHECK(reader.query_int("SELECT sum(count) FROM record_block") == 30);
}
