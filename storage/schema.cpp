// Schema migrations. Append new steps; never edit one that has shipped.
#include "storage/schema.hpp"

#include <array>
#include <string>

namespace sunkeep::storage {

namespace {

// Version 1: devices, the raw frame archive, records, samples, events, config snapshots, commands.
constexpr const char* migration_1 = R"sql(
CREATE TABLE device (
  id              INTEGER PRIMARY KEY,
  vendor          TEXT NOT NULL,
  serial          TEXT NOT NULL,
  model           TEXT,
  firmware        TEXT,
  first_seen_ms   INTEGER NOT NULL,
  last_seen_ms    INTEGER NOT NULL,
  peer            TEXT,
  clock_offset_ms INTEGER,                 -- device clock minus server clock
  clock_samples   TEXT NOT NULL DEFAULT '[]',
  parent_id       INTEGER REFERENCES device(id),
  UNIQUE (vendor, serial)
);

-- Every frame, both directions, as sent (login passwords replaced before storage).
CREATE TABLE frame (
  id          INTEGER PRIMARY KEY,
  device_id   INTEGER REFERENCES device(id),  -- NULL until the connection names a serial
  peer        TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  direction   INTEGER NOT NULL,                -- 0 from the device, 1 to the device
  command     INTEGER NOT NULL,
  raw         BLOB NOT NULL
);
CREATE INDEX frame_by_device_time ON frame (device_id, received_ms);

-- One row per telemetry record, keyed by the device's own naive clock reading.
CREATE TABLE record (
  device_id   INTEGER NOT NULL REFERENCES device(id),
  kind        INTEGER NOT NULL,                -- 1 realtime, 2 five_min, 3 minute
  device_time TEXT NOT NULL,                   -- "YYYY/MM/DD hh:mm:ss" as the device sent it
  utc_ms      INTEGER NOT NULL,                -- device_time converted with the configured zone
  received_ms INTEGER NOT NULL,
  frame_id    INTEGER NOT NULL REFERENCES frame(id),
  fields      TEXT NOT NULL,                   -- every key/value as sent, JSON
  PRIMARY KEY (device_id, kind, device_time)
) WITHOUT ROWID;

CREATE TABLE series (
  id        INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES device(id),
  name      TEXT NOT NULL,
  unit      TEXT NOT NULL,
  canonical INTEGER NOT NULL,
  UNIQUE (device_id, name)
);

CREATE TABLE sample (
  series_id INTEGER NOT NULL,
  t_ms      INTEGER NOT NULL,
  value     REAL NOT NULL,
  PRIMARY KEY (series_id, t_ms)
) WITHOUT ROWID;

-- EventLog entries (source 'EventLog', keyed by device time and code) and other device messages.
CREATE TABLE event (
  id          INTEGER PRIMARY KEY,
  device_id   INTEGER NOT NULL REFERENCES device(id),
  source      TEXT NOT NULL,
  device_time TEXT,
  code        TEXT,
  text        TEXT,
  utc_ms      INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  frame_id    INTEGER NOT NULL REFERENCES frame(id)
);
CREATE UNIQUE INDEX event_log_entry ON event (device_id, device_time, code) WHERE source = 'EventLog';
CREATE INDEX event_by_time ON event (device_id, utc_ms);

-- Configuration uploads; personal_keys lists the keys the API hides unless configured otherwise.
CREATE TABLE config_snapshot (
  id            INTEGER PRIMARY KEY,
  device_id     INTEGER NOT NULL REFERENCES device(id),
  received_ms   INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  frame_id      INTEGER NOT NULL REFERENCES frame(id),
  fields        TEXT NOT NULL,
  personal_keys TEXT NOT NULL
);
CREATE INDEX config_by_device ON config_snapshot (device_id, id);

-- Commands sunkeep sent (Resume only) and the device's answers.
CREATE TABLE device_command (
  device_id   INTEGER NOT NULL REFERENCES device(id),
  cmd_index   TEXT NOT NULL,
  command     TEXT NOT NULL,
  sent_ms     INTEGER,
  answered_ms INTEGER,
  status      TEXT,
  PRIMARY KEY (device_id, cmd_index)
);
)sql";

// Version 2: connections refused before or while speaking (TLS firmware, bad frames), per peer
// and reason, so the API can show why a device is not heard.
constexpr const char* migration_2 = R"sql(
CREATE TABLE rejection (
  peer_host   TEXT NOT NULL,
  reason      TEXT NOT NULL,
  serial      TEXT,
  count       INTEGER NOT NULL,
  first_ms    INTEGER NOT NULL,
  last_ms     INTEGER NOT NULL,
  PRIMARY KEY (peer_host, reason)
);
)sql";

// Version 3: samples of closed hours packed into one block per series and hour (see
// sample_block.hpp). `sample` keeps only recent rows; the summary sits apart from the bytes so
// that aggregating whole blocks reads small rows only.
constexpr const char* migration_3 = R"sql(
CREATE TABLE sample_block (
  series_id INTEGER NOT NULL,
  start_ms  INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  sum       REAL NOT NULL,
  min       REAL NOT NULL,
  max       REAL NOT NULL,
  first_t   INTEGER NOT NULL,
  first_v   REAL NOT NULL,
  last_t    INTEGER NOT NULL,
  last_v    REAL NOT NULL,
  PRIMARY KEY (series_id, start_ms)
) WITHOUT ROWID;

CREATE TABLE sample_block_data (
  series_id INTEGER NOT NULL,
  start_ms  INTEGER NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (series_id, start_ms)
);
)sql";

// Version 4: frame flags (bit 0 bad checksum, bit 1 secrets redacted before storage, bit 2
// arrived RC4-wrapped), for vendors whose frames are archived even when they do not validate.
constexpr const char* migration_4 = R"sql(
ALTER TABLE frame ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 5: the ack transaction appends a record's samples as one row here (sample_batch.hpp)
// instead of one row per sample in `sample`, whose per-series b-tree tails made each commit write
// thousands of pages; the writer moves batches into `sample` in sorted passes (writer.hpp).
constexpr const char* migration_5 = R"sql(
CREATE TABLE sample_batch (
  id   INTEGER PRIMARY KEY,
  t_ms INTEGER NOT NULL,
  data BLOB NOT NULL
);
)sql";

// Version 6: a record keeps a 64-bit hash of its fields instead of their JSON: the raw frame
// (frame_id) holds every value as sent, the samples the numbers, and the hash is enough to tell a
// repeat from a conflict. The JSON was a third of the database and made record rows so wide that
// every commit split pages of every device's records. Older rows keep their JSON (hash NULL).
constexpr const char* migration_6 = R"sql(
ALTER TABLE record ADD COLUMN fields_hash INTEGER;
)sql";

// Version 7: the raw archive and the record keys of closed hours, packed. Frames of one device
// and hour become one zstd-compressed block (frame_block.hpp) keeping every frame's id; record
// rows of one device, kind and device-clock hour become one block (record_block.hpp). Together
// they were four fifths of the database.
constexpr const char* migration_7 = R"sql(
CREATE TABLE frame_block (
  id        INTEGER PRIMARY KEY,
  device_id INTEGER,                           -- NULL for frames before a serial was known
  start_ms  INTEGER NOT NULL,                  -- the earliest received_ms in it
  end_ms    INTEGER NOT NULL,                  -- the latest received_ms in it
  first_id  INTEGER NOT NULL,                  -- its frames are this device's frames of the hour
  last_id   INTEGER NOT NULL,                  -- with ids first_id..last_id
  count     INTEGER NOT NULL,
  data      BLOB NOT NULL
);
CREATE INDEX frame_block_by_device_time ON frame_block (device_id, start_ms);

CREATE TABLE record_block (
  device_id INTEGER NOT NULL,
  kind      INTEGER NOT NULL,
  start_s   INTEGER NOT NULL,                  -- the hour, in naive seconds of the device clock
  count     INTEGER NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (device_id, kind, start_s)
) WITHOUT ROWID;
)sql";

// The counter guard of mqtt.md §3.3: per device and lifetime counter, the last value exposed on
// /metrics or MQTT, and since when every new value has been below it.
constexpr const char* migration_8 = R"sql(
CREATE TABLE counter_guard (
  device_id      INTEGER NOT NULL REFERENCES device(id),
  metric         TEXT NOT NULL,
  exposed        REAL NOT NULL,
  below_since_ms INTEGER,
  PRIMARY KEY (device_id, metric)
) WITHOUT ROWID;
)sql";

// Values the server keeps for itself across restarts (e.g. a poller's own bus serial), by key.
constexpr const char* migration_9 = R"sql(
CREATE TABLE setting (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Every retained MQTT topic sunkeep has published (mqtt.md §4.3), so that it can empty those it
// no longer publishes. `kind`: "component:<HA device identifier>" for a component-mode
// discovery topic (migrated when switching to device mode), else "".
constexpr const char* migration_10 = R"sql(
CREATE TABLE mqtt_topic (
  topic TEXT PRIMARY KEY,
  kind  TEXT NOT NULL
) WITHOUT ROWID;
)sql";

constexpr std::array<const char*, 10> migrations{migration_1, migration_2, migration_3, migration_4, migration_5,
                                                 migration_6, migration_7, migration_8, migration_9, migration_10};

}  // namespace

int latest_schema_version() { return static_cast<int>(migrations.size()); }

void migrate(Connection& db, int target_version) {
  const auto current = static_cast<int>(db.query_int("PRAGMA user_version"));
  if (current > latest_schema_version()) {
    throw StorageError("database schema version " + std::to_string(current) +
                       " is newer than this sunkeep supports (" + std::to_string(latest_schema_version()) + ")");
  }
  for (int version = current + 1; version <= target_version; ++version) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(migrations[static_cast<std::size_t>(version - 1)]);
      db.exec("PRAGMA user_version = " + std::to_string(version));
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
}

void configure_durable(Connection& db) {
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = OFF");
  // Thousands of devices insert into many b-tree pages at once, more than SQLite's default 2 MB
  // cache holds, so the writer would re-read pages from the OS (docs/benchmarks.md, Design decisions).
  db.exec("PRAGMA cache_size = -65536");
}

}  // namespace sunkeep::storage
