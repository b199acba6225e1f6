// Packing the raw archive and the record keys of closed hours (schema 7), on the writer's
// connection inside the writer's transaction.
//
// PackedRecords answers for record keys that left the `record` table: is this key stored, with
// which fields hash, and what is a device's newest record. It remembers per (device, kind) the
// newest packed hour, so a live record (newer than anything packed) costs no lookup.
//
// ArchivePacker takes the oldest frames first: all frames of that frame's device and UTC hour
// become one frame block (frame_block.hpp) and their rows go; then that device's record rows
// received before the cutoff move into record blocks, merged with a block already there.
#pragma once

#include "common/civil_time.hpp"
#include "storage/record_block.hpp"
#include "storage/sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::storage {

// The hash a record keeps of its fields JSON (64-bit FNV-1a, stored as a signed integer).
std::int64_t fields_hash(std::string_view fields_json);

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

class ArchivePacker {
 public:
  // Blocks are cut at this many bytes of raw frames, far below max_frame_block_bytes.
  static constexpr std::size_t block_raw_limit = 4U << 20;

  ArchivePacker(Connection& db, PackedRecords& records);

  // Packs up to about `max_frames` of the frames received before `cutoff` (a whole hour of one
  // device at a time, oldest first) and the record rows of the devices it touched received
  // before `cutoff`. Returns how many frames were packed; 0 when nothing is left to pack.
  std::int64_t pack(UtcMillis cutoff, std::int64_t max_frames);

 private:
  std::int64_t pack_frames(std::optional<std::int64_t> device, UtcMillis hour, std::int64_t max_frames);
  void pack_records(std::int64_t device, UtcMillis cutoff, std::int64_t max_records);

  PackedRecords& records_;
  Statement oldest_frame_, frames_of_hour_, insert_block_, delete_frame_;
  Statement records_to_pack_, delete_record_;
};

}  // namespace sunkeep::storage
