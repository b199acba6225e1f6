// Packing the raw archive and the record keys of closed hours (schema 7), on the writer's
// connection inside the writer's transaction.
//
// PackedRecords answers for record keys that left the `record` table: is this key stored, with
// which fields hash, and what is a device's newest record. It remembers per (device, kind) the
// newest packed hour, so a live record (newer than anything packed) costs no lookup.
//
// ArchivePacker works through closed UTC hours, oldest first. For each device in turn, the
// frames of that hour become frame blocks (frame_block.hpp), and the device's record rows
// received before the cutoff move into record blocks (merged with a block already there). Frame
// rows are not deleted device by device: in a fleet one device's frames lie one per page, so that
// would rewrite a page per frame. Once every device of the hour is in blocks, the hour's rows
// are deleted by id span, whole pages at a time. Until then a frame may be both a row and in a
// block; readers keep one copy per id.
#pragma once

#include "common/civil_time.hpp"
#include "storage/frame_block.hpp"
#include "storage/record_block.hpp"
#include "storage/sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::storage {

class PackedRecords {
 public:
  explicit PackedRecords(Connection& db);

  // The fields hash of the packed record with this key, if one is packed.
  std::optional<std::int64_t> find_hash(std::int64_t device, int kind, std::int64_t device_s);
  // The packed record of this device and kind with the newest device time.
  std::optional<PackedRecord> newest(std::int64_t device, int kind);
  // Adds `records` (sorted, unique times, all in the hour `start_s`) to that hour's block; where
  // the block already holds a time, its entry stays.
  void merge(std::int64_t device, int kind, std::int64_t start_s, std::span<const PackedRecord> records);
  // After a rolled-back transaction: the cached newest hours may name blocks that are gone.
  void forget();

 private:
  std::optional<std::int64_t> newest_start(std::int64_t device, int kind);
  std::vector<PackedRecord> block(std::int64_t device, int kind, std::int64_t start_s);

  Statement newest_start_, read_block_, write_block_;
  std::map<std::pair<std::int64_t, int>, std::optional<std::int64_t>> newest_start_cache_;
};

// What one packing step did: 0 and 0 when nothing was left to do.
struct PackStep {
  std::int64_t frames_read = 0;    // into the block being built
  std::int64_t frames_packed = 0;  // in the block written
  std::int64_t rows_deleted = 0;
  [[nodiscard]] bool did_work() const { return frames_read > 0 || frames_packed > 0 || rows_deleted > 0; }
};

class ArchivePacker {
 public:
  // A block holds at most this many frames (or about block_raw_limit bytes of raw frames): a
  // device-hour of 10-second pushes and acks is one block.
  static constexpr std::int64_t block_frames = 1'024;
  static constexpr std::size_t block_raw_limit = 4U << 20;
  // A block is read this many frames a step (in a fleet each frame is a page read, ~10 µs), and
  // written by the step that reads its last frame, so no step holds the writer for long.
  static constexpr std::int64_t frames_per_step = 128;
  // Rows of a packed hour are deleted this many ids at a time.
  static constexpr std::int64_t delete_span = 500;

  ArchivePacker(Connection& db, PackedRecords& records);

  // One step of packing the hours that ended before `cutoff` (an hour boundary), oldest hour
  // first: reading a device's next frames of that hour, writing its block when they are all read
  // (with that device's record rows received before `cutoff`), or, once every device of the hour
  // is in blocks, deleting the next span of the hour's rows.
  PackStep pack(UtcMillis cutoff);

 private:
  using Group = std::optional<std::int64_t>;  // a device id, or nullopt for frames before login

  // Where packing of one hour stands: devices are taken in order (nullopt first), and once none
  // has frames left outside blocks the hour is complete up to the newest id seen then.
  struct HourCursor {
    UtcMillis hour = 0;
    std::int64_t scan_from_id = 0;  // the newest frame id when the scan of the hour began
    std::optional<Group> last_done;  // the last group found with every frame in blocks
    bool complete = false;           // every group: frames up to scan_from_id are in blocks
  };

  std::int64_t newest_frame_id();
  // The group after `after` in packing order (nullopt: the first), or nullopt after the last.
  std::optional<Group> next_group(const std::optional<Group>& after);
  std::int64_t packed_through(const Group& device, UtcMillis hour);
  // Reads the group's next frames of the hour into building_; writes the block once it is full
  // or the group has no more frames of the hour.
  PackStep build_block(const Group& device, UtcMillis hour);
  void pack_records(std::int64_t device, UtcMillis cutoff);
  std::int64_t delete_packed_rows(std::int64_t from_id);

  Connection& db_;
  PackedRecords& records_;
  Statement oldest_frame_, newest_frame_id_, next_device_, packed_through_, frames_of_hour_;
  Statement insert_block_, delete_rows_;
  Statement records_to_pack_, delete_record_;
  std::optional<HourCursor> cursor_;
  // The block being read, kept in memory between steps (nothing to undo if a step is rolled
  // back or the server stops: the next step reads again from the last block written).
  struct BlockBuilder {
    Group device;
    UtcMillis hour = 0;
    std::vector<PackedFrame> frames;
    std::size_t raw_bytes = 0;
  };
  std::optional<BlockBuilder> building_;
};

}  // namespace sunkeep::storage
