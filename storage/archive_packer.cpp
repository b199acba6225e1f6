// Packing closed hours of the raw archive and of the record keys (see archive_packer.hpp).
#include "storage/archive_packer.hpp"

#include "storage/frame_block.hpp"
#include "storage/sample_block.hpp"
#include "storage/sorted_merge.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace sunkeep::storage {

PackedRecords::PackedRecords(Connection& db)
    : newest_start_(db.prepare("SELECT max(start_s) FROM record_block WHERE device_id = ?1 AND kind = ?2")),
      read_block_(db.prepare("SELECT data FROM record_block WHERE device_id = ?1 AND kind = ?2 AND start_s = ?3")),
      write_block_(db.prepare(
          "INSERT OR REPLACE INTO record_block (device_id, kind, start_s, count, data) VALUES (?1, ?2, ?3, ?4, ?5)")) {}

std::optional<std::int64_t> PackedRecords::newest_start(std::int64_t device, int kind) {
  const auto key = std::make_pair(device, kind);
  if (const auto it = newest_start_cache_.find(key); it != newest_start_cache_.end()) return it->second;
  newest_start_.bind(1, device).bind(2, std::int64_t{kind});
  std::optional<std::int64_t> start;
  if (newest_start_.step() && !newest_start_.is_null(0)) start = newest_start_.int64(0);
  newest_start_.reset();
  newest_start_cache_.emplace(key, start);
  return start;
}

std::vector<PackedRecord> PackedRecords::block(std::int64_t device, int kind, std::int64_t start_s) {
  read_block_.bind(1, device).bind(2, std::int64_t{kind}).bind(3, start_s);
  std::optional<std::vector<PackedRecord>> records;
  if (read_block_.step()) {
    records = decode_record_block(read_block_.blob(0), start_s);
    if (!records) spdlog::error("record block of device {} kind {} at {} does not decode", device, kind, start_s);
  }
  read_block_.reset();
  return records.value_or(std::vector<PackedRecord>{});
}

std::optional<std::int64_t> PackedRecords::find_hash(std::int64_t device, int kind, std::int64_t device_s) {
  const std::int64_t start = record_block_start(device_s);
  const auto newest = newest_start(device, kind);
  if (!newest || start > *newest) return std::nullopt;
  for (const auto& r : block(device, kind, start)) {
    if (r.device_s == device_s) return r.fields_hash;
  }
  return std::nullopt;
}

std::optional<PackedRecord> PackedRecords::newest(std::int64_t device, int kind) {
  const auto start = newest_start(device, kind);
  if (!start) return std::nullopt;
  const auto records = block(device, kind, *start);
  if (records.empty()) return std::nullopt;
  return records.back();
}

void PackedRecords::merge(std::int64_t device, int kind, std::int64_t start_s, std::span<const PackedRecord> records) {
  const std::vector<PackedRecord> merged =
      merge_first_wins(block(device, kind, start_s), records, [](const PackedRecord& r) { return r.device_s; });
  write_block_.bind(1, device).bind(2, std::int64_t{kind}).bind(3, start_s)
      .bind(4, static_cast<std::int64_t>(merged.size()))
      .bind(5, std::span<const std::uint8_t>(encode_record_block(merged, start_s)))
      .run();
  auto& newest = newest_start_cache_[std::make_pair(device, kind)];
  if (!newest || start_s > *newest) newest = start_s;
}

void PackedRecords::forget() { newest_start_cache_.clear(); }

ArchivePacker::ArchivePacker(Connection& db, PackedRecords& records)
    : db_(db),
      records_(records),
      oldest_frame_(db.prepare("SELECT id, received_ms FROM frame ORDER BY id LIMIT 1")),
      newest_frame_id_(db.prepare("SELECT coalesce(max(id), 0) FROM frame")),
      next_device_(db.prepare("SELECT device_id FROM frame WHERE device_id > ?1 ORDER BY device_id LIMIT 1")),
      packed_through_(db.prepare(
          "SELECT coalesce(max(last_id), 0) FROM frame_block WHERE device_id IS ?1 AND start_ms >= ?2 "
          "AND start_ms < ?3")),
      frames_of_hour_(db.prepare(
          "SELECT id, peer, received_ms, direction, command, raw, flags FROM frame WHERE device_id IS ?1 "
          "AND received_ms >= ?2 AND received_ms < ?3 AND id > ?4 ORDER BY id LIMIT ?5")),
      insert_block_(db.prepare(
          "INSERT INTO frame_block (device_id, start_ms, end_ms, first_id, last_id, count, data) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")),
      delete_rows_(db.prepare(
          "DELETE FROM frame WHERE id >= ?1 AND id < ?2 AND id <= ?3 AND received_ms >= ?4 AND received_ms < ?5")),
      records_to_pack_(db.prepare(
          "SELECT kind, device_time, utc_ms, received_ms, frame_id, fields, fields_hash FROM record "
          "WHERE device_id = ?1 AND received_ms < ?2 LIMIT ?3")),
      delete_record_(db.prepare("DELETE FROM record WHERE device_id = ?1 AND kind = ?2 AND device_time = ?3")) {}

PackStep ArchivePacker::pack(UtcMillis cutoff) {
  if (!oldest_frame_.step()) {
    oldest_frame_.reset();
    cursor_.reset();
    return {};
  }
  const std::int64_t oldest_id = oldest_frame_.int64(0);
  const UtcMillis received = oldest_frame_.int64(1);
  oldest_frame_.reset();
  // Frames arrive in id order with the server's clock, so the oldest row is in the oldest hour;
  // if the clock went back, newer rows wait until the oldest one's hour has closed too.
  if (received >= cutoff) return {};
  const UtcMillis hour = block_start(received);
  if (!cursor_ || cursor_->hour != hour) cursor_ = HourCursor{.hour = hour, .scan_from_id = newest_frame_id()};
  if (cursor_->complete) {
    if (oldest_id <= cursor_->scan_from_id) return {.rows_deleted = delete_packed_rows(oldest_id)};
    // A frame of this hour arrived after the hour was found packed (the clock went back).
    cursor_ = HourCursor{.hour = hour, .scan_from_id = newest_frame_id()};
  }
  for (auto group = next_group(cursor_->last_done); group; group = next_group(cursor_->last_done)) {
    const PackStep step = build_block(*group, hour);
    if (step.frames_packed > 0 && *group) pack_records(**group, cutoff);
    if (step.did_work()) return step;
    cursor_->last_done = group;
  }
  // Every frame of the hour that existed when this scan began is in a block.
  cursor_->complete = true;
  return {.rows_deleted = delete_packed_rows(oldest_id)};
}

std::int64_t ArchivePacker::newest_frame_id() {
  const std::int64_t id = newest_frame_id_.step() ? newest_frame_id_.int64(0) : 0;
  newest_frame_id_.reset();
  return id;
}

std::optional<ArchivePacker::Group> ArchivePacker::next_group(const std::optional<Group>& after) {
  if (!after) return Group{};  // frames before login come first
  const Group& previous = *after;
  next_device_.bind(1, previous ? *previous : std::numeric_limits<std::int64_t>::min());
  std::optional<Group> next;
  if (next_device_.step()) next = Group{next_device_.int64(0)};
  next_device_.reset();
  return next;
}

std::int64_t ArchivePacker::packed_through(const Group& device, UtcMillis hour) {
  packed_through_.bind(1, device).bind(2, std::int64_t{hour}).bind(3, std::int64_t{hour + block_span_ms});
  const std::int64_t id = packed_through_.step() ? packed_through_.int64(0) : 0;
  packed_through_.reset();
  return id;
}

PackStep ArchivePacker::build_block(const Group& device, UtcMillis hour) {
  if (!building_ || building_->device != device || building_->hour != hour) {
    building_ = BlockBuilder{.device = device, .hour = hour, .frames = {}, .raw_bytes = 0};
  }
  auto& frames = building_->frames;
  const std::int64_t after_id = frames.empty() ? packed_through(device, hour) : frames.back().id;
  const std::int64_t wanted = std::min<std::int64_t>(frames_per_step, block_frames - static_cast<std::int64_t>(frames.size()));
  frames_of_hour_.bind(1, device).bind(2, std::int64_t{hour}).bind(3, std::int64_t{hour + block_span_ms})
      .bind(4, after_id).bind(5, wanted);
  std::int64_t read = 0;
  while (building_->raw_bytes < block_raw_limit && frames_of_hour_.step()) {
    PackedFrame f{.id = frames_of_hour_.int64(0), .peer = frames_of_hour_.text(1),
                  .received = frames_of_hour_.int64(2), .direction = static_cast<int>(frames_of_hour_.int64(3)),
                  .command = frames_of_hour_.int64(4), .flags = static_cast<int>(frames_of_hour_.int64(6)),
                  .raw = frames_of_hour_.blob(5)};
    building_->raw_bytes += f.raw.size();
    frames.push_back(std::move(f));
    ++read;
  }
  frames_of_hour_.reset();
  const bool full = static_cast<std::int64_t>(frames.size()) >= block_frames || building_->raw_bytes >= block_raw_limit;
  if (frames.empty() || (read == wanted && !full)) return {.frames_read = read};  // more to read first
  const auto [earliest, latest] = std::minmax_element(
      frames.begin(), frames.end(), [](const PackedFrame& a, const PackedFrame& b) { return a.received < b.received; });
  insert_block_.bind(1, device).bind(2, std::int64_t{earliest->received}).bind(3, std::int64_t{latest->received})
      .bind(4, frames.front().id).bind(5, frames.back().id).bind(6, static_cast<std::int64_t>(frames.size()))
      .bind(7, std::span<const std::uint8_t>(encode_frame_block(frames)))
      .run();
  const PackStep step{.frames_read = read, .frames_packed = static_cast<std::int64_t>(frames.size())};
  building_.reset();
  return step;
}

std::int64_t ArchivePacker::delete_packed_rows(std::int64_t from_id) {
  delete_rows_.bind(1, from_id).bind(2, from_id + delete_span).bind(3, cursor_->scan_from_id)
      .bind(4, std::int64_t{cursor_->hour}).bind(5, std::int64_t{cursor_->hour + block_span_ms})
      .run();
  return db_.changes();
}

void ArchivePacker::pack_records(std::int64_t device, UtcMillis cutoff) {
  struct Row {
    int kind;
    std::string device_time;
    PackedRecord packed;
  };
  std::vector<Row> rows;
  records_to_pack_.bind(1, device).bind(2, std::int64_t{cutoff}).bind(3, block_frames);
  while (records_to_pack_.step()) {
    std::string device_time = records_to_pack_.text(1);
    const auto civil = parse_device_string(device_time);
    if (!civil) continue;  // not a key this code wrote: it stays a row
    const std::int64_t hash = records_to_pack_.is_null(6) ? fields_hash(records_to_pack_.text(5))  // before v6
                                                          : records_to_pack_.int64(6);
    rows.push_back({static_cast<int>(records_to_pack_.int64(0)), std::move(device_time),
                    {civil->naive_epoch_seconds(), records_to_pack_.int64(2), records_to_pack_.int64(3),
                     records_to_pack_.int64(4), hash}});
  }
  records_to_pack_.reset();
  // Rows come in key order (kind, device time), so each (kind, hour) group is contiguous.
  auto group_begin = rows.begin();
  while (group_begin != rows.end()) {
    const int kind = group_begin->kind;
    const std::int64_t start = record_block_start(group_begin->packed.device_s);
    const auto group_end = std::find_if(group_begin, rows.end(), [&](const Row& r) {
      return r.kind != kind || record_block_start(r.packed.device_s) != start;
    });
    std::vector<PackedRecord> group;
    for (auto it = group_begin; it != group_end; ++it) group.push_back(it->packed);
    records_.merge(device, kind, start, group);
    group_begin = group_end;
  }
  for (const auto& r : rows) delete_record_.bind(1, device).bind(2, std::int64_t{r.kind}).bind(3, r.device_time).run();
}

}  // namespace sunkeep::storage
