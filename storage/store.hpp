// Vendor-neutral storage operations on the writer's connection: devices, the raw frame archive,
// records with their samples, events, config snapshots, commands, clock offsets.
// Only the writer thread uses a Store; every call runs inside the writer's transaction.
// Samples are appended as `sample_batch` rows and collected as pending points; the writer
// publishes those to its RecentSamples after COMMIT and later moves the batches into `sample`.
// A device's last-seen time and clock samples are kept here and written by flush_device_state(),
// which the writer calls once per transaction.
#pragma once

#include "common/civil_time.hpp"
#include "common/observation.hpp"
#include "storage/archive_packer.hpp"
#include "storage/recent_samples.hpp"
#include "storage/sample_block.hpp"
#include "storage/sqlite.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sunkeep::storage {

using DeviceId = std::int64_t;
using FrameId = std::int64_t;

using Direction = FrameDirection;

struct ArchivedFrame {
  std::optional<DeviceId> device;
  std::string peer;
  UtcMillis received = 0;
  Direction direction = Direction::from_device;
  std::int64_t command = 0;
  std::span<const std::uint8_t> raw;
  int flags = 0;  // frame_flag bits
};

struct RecordRow {
  DeviceId device = 0;
  int kind = 0;
  std::string device_time;  // normalised naive device clock reading
  UtcMillis utc = 0;
  UtcMillis received = 0;
  FrameId frame = 0;
  std::int64_t fields_hash = 0;  // fields_hash() of the record's fields as JSON
  std::vector<Reading> samples;
};

enum class InsertOutcome { inserted, duplicate, conflict };

struct EventRow {
  DeviceId device = 0;
  std::string source;
  std::optional<std::string> device_time;
  std::optional<std::string> code;
  std::optional<std::string> text;
  UtcMillis utc = 0;
  UtcMillis received = 0;
  FrameId frame = 0;
};

// The newest telemetry record of a device, by its device clock reading.
struct LatestRecord {
  std::string device_time;
  UtcMillis utc = 0;
};

class Store {
 public:
  // Number of clock-offset samples whose maximum is the device's offset (alphaess.md §5.7).
  static constexpr std::size_t clock_window = 30;

  // With `recent`, the samples of each transaction are collected and publish_pending() hands
  // them over; without, samples only reach readers through move_batches_to_samples().
  explicit Store(Connection& db, RecentSamples* recent = nullptr);

  // The device's id, adding it when new. `heard`: something came from the device at `seen`, which
  // makes it its last_seen (and `peer` its peer); what sunkeep only sent it does not.
  DeviceId upsert_device(const std::string& vendor, const std::string& serial, UtcMillis seen,
                         const std::string& peer, bool heard = true);
  void set_parent(DeviceId device, DeviceId parent);
  void set_device_info(DeviceId device, const std::optional<std::string>& model,
                       const std::optional<std::string>& firmware);

  FrameId archive_frame(const ArchivedFrame& frame);

  // Samples of a device without a record (values with no device time, e.g. polled answers):
  // stored at `t`; a repeat of the same series and time keeps the first.
  void insert_samples(DeviceId device, UtcMillis t, std::span<const Reading> samples);

  // Inserts a record and its samples once; a second record with the same key is a duplicate
  // (same fields) or a conflict (different fields), and the first is kept either way.
  InsertOutcome insert_record(const RecordRow& record);

  // False when an EventLog entry with the same (device, device time, code) is already stored.
  bool insert_event(const EventRow& event);

  // Stores a config snapshot unless it equals the device's latest one, which then only has its
  // last-seen time updated. Returns true when a new snapshot was stored.
  bool store_config(DeviceId device, UtcMillis received, FrameId frame, const std::string& fields_json,
                    const std::string& personal_keys_json);

  void record_command_sent(DeviceId device, const std::string& cmd_index, const std::string& command,
                           UtcMillis sent);
  void record_command_answer(DeviceId device, const std::string& cmd_index, const std::string& command,
                             const std::string& status, UtcMillis answered);

  // Adds a clock-offset sample (device clock as UTC minus receive time) and returns the
  // device's offset: the maximum of the last `clock_window` samples. Persisted with the device.
  std::int64_t add_clock_sample(DeviceId device, std::int64_t offset_ms);
  std::optional<std::int64_t> clock_offset(DeviceId device);

  std::optional<LatestRecord> latest_record(DeviceId device, std::span<const int> kinds);

  void note_rejection(const std::string& peer_host, const std::string& reason,
                      const std::optional<std::string>& serial, UtcMillis when);

  // Saves the counter guard's state of a device's lifetime counter (mqtt.md §3.3).
  void save_counter_guard(const std::string& vendor, const std::string& serial, const std::string& metric,
                          double exposed, std::optional<UtcMillis> below_since);

  // Notes retained MQTT topics published (topic, kind) and forgets those emptied (mqtt.md §4.3).
  void record_mqtt_topics(const std::vector<std::pair<std::string, std::string>>& published,
                          const std::vector<std::string>& emptied);

  // Keeps a value of the server's own under `key` (table `setting`), replacing the last.
  void save_setting(const std::string& key, const std::string& value);

  // One writer job inside the transaction: a savepoint, released when the job is done or rolled
  // back when it failed, with the job's pending samples and clock samples (other jobs' unsaved
  // clock samples stay) and the cached ids. undo_job is false when SQLite rolled back the whole
  // transaction (a full disk may): the other jobs' work is gone with it.
  void begin_job();
  void end_job();
  [[nodiscard]] bool undo_job();
  // After COMMIT: hands this transaction's samples to the RecentSamples; after a failed commit:
  // forgets them.
  void publish_pending();
  void discard_pending();

  // Inserts drained points into `sample` (a time already there keeps its first value).
  void insert_sample_rows(std::span<const SeriesPoints> slice);
  [[nodiscard]] std::int64_t newest_batch_id();
  // Deletes the oldest batches up to id `id`, at most `max_batches` of them (-1: all); returns
  // how many it deleted.
  std::int64_t delete_batches_through(std::int64_t id, std::int64_t max_batches = -1);
  // Moves up to `max_batches` of the oldest batches into `sample` and deletes them; returns how
  // many batches were moved (tests and tools; the running writer drains RecentSamples).
  std::int64_t move_batches_to_samples(std::int64_t max_batches);
  // Publishes the points of every stored batch, oldest first, to the RecentSamples, so that the
  // batches a previous run left are readable at once and drained like new ones. Reads only:
  // nothing here can fail for a full disk. Returns how many batches there were.
  std::int64_t publish_stored_batches();

  // Writes the last-seen times and clock samples changed since the previous call.
  void flush_device_state();

  // Packs up to `max_rows` sample rows older than `cutoff` into hour blocks (merging with a
  // block already there; on equal times the block's value stays) and deletes those rows.
  // Returns how many rows were packed; 0 when nothing is left before `cutoff`.
  std::int64_t compact_samples(UtcMillis cutoff, std::int64_t max_rows);

  // One step of packing the frames and record rows of hours that ended before `cutoff` into
  // blocks (ArchivePacker::pack).
  PackStep pack_archive(UtcMillis cutoff);

  // Forgets cached ids and clock samples after a rolled-back transaction.
  void drop_caches();

 private:
  // A device's series, each with its name (interned: a vendor's devices share the same few hundred
  // names) and id, and for each position in the samples of the device's last record the index of
  // its series. The next record usually names the same series in the same order, so one name
  // comparison finds each id, for less writer time and memory than a hash table of names per
  // device (docs/benchmarks.md, Design decisions).
  struct KnownSeries {
    std::vector<std::pair<const std::string*, std::int64_t>> series;
    std::vector<std::uint32_t> by_position;
  };
  std::int64_t series_id(DeviceId device, KnownSeries& known, std::size_t position, const Reading& sample);
  std::uint32_t series_index(DeviceId device, KnownSeries& known, const Reading& sample);
  // The id for the next archived frame: above every id ever given, packed or not.
  FrameId next_frame_id();
  // The fields hash of the record with this key if its hour is packed and holds it.
  std::optional<std::int64_t> packed_record_hash(const RecordRow& record);
  void insert_sample_row(std::int64_t series, const Point& point);
  void write_block(std::int64_t series, std::int64_t start, std::vector<Point> rows);
  std::deque<std::int64_t>& clock_samples(DeviceId device);
  // A clock sample added by the current job, to take back if the job fails: the device, the
  // sample the window dropped for it, and whether the device had unsaved samples before.
  struct ClockChange {
    DeviceId device = 0;
    std::optional<std::int64_t> dropped;
    bool was_unsaved = false;
  };
  void undo_clock_changes();
  // Forgets the ids a rolled-back job or transaction may have cached for rows it created.
  void forget_ids();
  struct SavedClock {
    std::string samples_json;
    std::int64_t offset = 0;
  };
  // The device's clock samples as stored, with its offset; none without samples.
  std::optional<SavedClock> saved_clock(DeviceId device);

  struct Seen {
    UtcMillis when = 0;
    std::string peer;
  };

  Connection& db_;
  RecentSamples* recent_;
  Statement find_device_, insert_device_, touch_device_, touch_device_and_clock_, set_info_, set_parent_;
  Statement insert_frame_, insert_record_, find_record_fields_;
  Statement find_series_, insert_series_, insert_sample_;
  Statement insert_batch_, read_batches_, delete_batches_, newest_batch_;
  Statement savepoint_, release_, rollback_to_;
  Statement insert_event_, insert_event_log_;
  Statement latest_config_, touch_config_, insert_config_;
  Statement command_sent_, command_answer_;
  Statement load_clock_, save_clock_;
  Statement latest_record_;
  Statement rejection_;
  Statement save_guard_;
  Statement rows_to_compact_, block_data_, put_block_, put_block_data_, delete_rows_;
  std::unordered_map<DeviceId, KnownSeries> series_cache_;
  std::unordered_set<std::string> series_names_;  // KnownSeries points into it
  std::map<std::pair<std::string, std::string>, DeviceId> device_cache_;
  std::map<DeviceId, std::deque<std::int64_t>> clock_cache_;
  std::vector<SeriesPoint> pending_;  // samples of this transaction, published after COMMIT
  std::size_t job_start_ = 0;          // pending_.size() when the current job began
  std::map<DeviceId, Seen> unsaved_seen_;
  std::set<DeviceId> unsaved_clocks_;
  std::vector<ClockChange> job_clock_changes_;  // of the current job (all since the last flush outside jobs)
  std::optional<FrameId> next_frame_id_;  // the last id given, read from the database at first use
  // No row of `sample` is older than this (unknown until a compaction pass finds all it can pack;
  // lowered by every row inserted since).
  std::optional<UtcMillis> sample_floor_;
  PackedRecords packed_records_;
  ArchivePacker packer_;
};

}  // namespace sunkeep::storage
