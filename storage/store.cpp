// Storage operations on the writer's connection.
#include "storage/store.hpp"

#include "storage/sample_batch.hpp"
#include "storage/sorted_merge.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

namespace sunkeep::storage {

Store::Store(Connection& db, RecentSamples* recent)
    : db_(db),
      recent_(recent),
      find_device_(db.prepare("SELECT id FROM device WHERE vendor = ?1 AND serial = ?2")),
      insert_device_(db.prepare(
          "INSERT INTO device (vendor, serial, first_seen_ms, last_seen_ms, peer) VALUES (?1, ?2, ?3, ?3, ?4)")),
      touch_device_(db.prepare("UPDATE device SET last_seen_ms = max(last_seen_ms, ?2), peer = ?3 WHERE id = ?1")),
      touch_device_and_clock_(db.prepare("UPDATE device SET last_seen_ms = max(last_seen_ms, ?2), peer = ?3, "
                                         "clock_samples = ?4, clock_offset_ms = ?5 WHERE id = ?1")),
      set_info_(db.prepare(
          "UPDATE device SET model = coalesce(?2, model), firmware = coalesce(?3, firmware) WHERE id = ?1")),
      set_parent_(db.prepare("UPDATE device SET parent_id = ?2 WHERE id = ?1 AND parent_id IS NOT ?2")),
      insert_frame_(db.prepare(
          "INSERT INTO frame (id, device_id, peer, received_ms, direction, command, raw, flags) "
          "VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)")),
      insert_record_(db.prepare(
          "INSERT OR IGNORE INTO record (device_id, kind, device_time, utc_ms, received_ms, frame_id, fields, "
          "fields_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7)")),
      find_record_fields_(db.prepare(
          "SELECT fields, fields_hash FROM record WHERE device_id = ?1 AND kind = ?2 AND device_time = ?3")),
      find_series_(db.prepare("SELECT id FROM series WHERE device_id = ?1 AND name = ?2")),
      insert_series_(db.prepare(
          "INSERT INTO series (device_id, name, unit, canonical) VALUES (?1, ?2, ?3, ?4)")),
      insert_sample_(db.prepare("INSERT OR IGNORE INTO sample (series_id, t_ms, value) VALUES (?1, ?2, ?3)")),
      insert_batch_(db.prepare("INSERT INTO sample_batch (t_ms, data) VALUES (?1, ?2)")),
      read_batches_(db.prepare("SELECT id, t_ms, data FROM sample_batch ORDER BY id LIMIT ?1")),
      delete_batches_(db.prepare(
          "DELETE FROM sample_batch WHERE id IN (SELECT id FROM sample_batch WHERE id <= ?1 ORDER BY id LIMIT ?2)")),
      newest_batch_(db.prepare("SELECT coalesce(max(id), 0) FROM sample_batch")),
      savepoint_(db.prepare("SAVEPOINT job")),
      release_(db.prepare("RELEASE job")),
      rollback_to_(db.prepare("ROLLBACK TO job")),
      insert_event_(db.prepare(
          "INSERT INTO event (device_id, source, device_time, code, text, utc_ms, received_ms, frame_id) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")),
      insert_event_log_(db.prepare(
          "INSERT OR IGNORE INTO event (device_id, source, device_time, code, text, utc_ms, received_ms, frame_id) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")),
      latest_config_(db.prepare(
          "SELECT id, fields FROM config_snapshot WHERE device_id = ?1 ORDER BY id DESC LIMIT 1")),
      touch_config_(db.prepare("UPDATE config_snapshot SET last_seen_ms = ?2 WHERE id = ?1")),
      insert_config_(db.prepare(
          "INSERT INTO config_snapshot (device_id, received_ms, last_seen_ms, frame_id, fields, personal_keys) "
          "VALUES (?1, ?2, ?2, ?3, ?4, ?5)")),
      command_sent_(db.prepare(
          "INSERT OR REPLACE INTO device_command (device_id, cmd_index, command, sent_ms) VALUES (?1, ?2, ?3, ?4)")),
      command_answer_(db.prepare(
          "INSERT INTO device_command (device_id, cmd_index, command, answered_ms, status) VALUES (?1, ?2, ?3, ?4, ?5) "
          "ON CONFLICT (device_id, cmd_index) DO UPDATE SET answered_ms = excluded.answered_ms, "
          "status = excluded.status")),
      load_clock_(db.prepare("SELECT clock_samples FROM device WHERE id = ?1")),
      save_clock_(db.prepare("UPDATE device SET clock_samples = ?2, clock_offset_ms = ?3 WHERE id = ?1")),
      latest_record_(db.prepare(
          "SELECT device_time, utc_ms FROM record WHERE device_id = ?1 AND kind = ?2 "
          "ORDER BY device_time DESC LIMIT 1")),
      rejection_(db.prepare(
          "INSERT INTO rejection (peer_host, reason, serial, count, first_ms, last_ms) VALUES (?1, ?2, ?3, 1, ?4, ?4) "
          "ON CONFLICT (peer_host, reason) DO UPDATE SET count = count + 1, last_ms = excluded.last_ms, "
          "serial = coalesce(excluded.serial, serial)")),
      save_guard_(db.prepare(
          "INSERT OR REPLACE INTO counter_guard (device_id, metric, exposed, below_since_ms) "
          "SELECT id, ?3, ?4, ?5 FROM device WHERE vendor = ?1 AND serial = ?2")),
      rows_to_compact_(db.prepare(
          "SELECT series_id, t_ms, value FROM sample WHERE t_ms < ?1 ORDER BY series_id, t_ms LIMIT ?2")),
      block_data_(db.prepare("SELECT data FROM sample_block_data WHERE series_id = ?1 AND start_ms = ?2")),
      put_block_(db.prepare(
          "INSERT OR REPLACE INTO sample_block (series_id, start_ms, count, sum, min, max, first_t, first_v, "
          "last_t, last_v) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")),
      put_block_data_(db.prepare(
          "INSERT OR REPLACE INTO sample_block_data (series_id, start_ms, data) VALUES (?1, ?2, ?3)")),
      delete_rows_(db.prepare("DELETE FROM sample WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms <= ?3")),
      packed_records_(db),
      packer_(db, packed_records_) {}

DeviceId Store::upsert_device(const std::string& vendor, const std::string& serial, UtcMillis seen,
                              const std::string& peer, bool heard) {
  const auto key = std::make_pair(vendor, serial);
  auto it = device_cache_.find(key);
  DeviceId id = 0;
  if (it != device_cache_.end()) {
    id = it->second;
  } else {
    find_device_.bind(1, vendor).bind(2, serial);
    if (find_device_.step()) {
      id = find_device_.int64(0);
      find_device_.reset();
    } else {
      find_device_.reset();
      insert_device_.bind(1, vendor).bind(2, serial).bind(3, std::int64_t{seen}).bind(4, peer).run();
      id = db_.last_insert_rowid();
    }
    device_cache_.emplace(key, id);
  }
  if (!heard) return id;
  Seen& latest = unsaved_seen_[id];
  if (seen >= latest.when) latest = {seen, peer};
  return id;
}

void Store::set_parent(DeviceId device, DeviceId parent) { set_parent_.bind(1, device).bind(2, parent).run(); }

void Store::set_device_info(DeviceId device, const std::optional<std::string>& model,
                            const std::optional<std::string>& firmware) {
  set_info_.bind(1, device).bind(2, model).bind(3, firmware).run();
}

FrameId Store::archive_frame(const ArchivedFrame& frame) {
  insert_frame_.bind(1, frame.device)
      .bind(2, frame.peer)
      .bind(3, std::int64_t{frame.received})
      .bind(4, std::int64_t{static_cast<int>(frame.direction)})
      .bind(5, std::int64_t{frame.command})
      .bind(6, frame.raw)
      .bind(7, std::int64_t{frame.flags})
      .bind(8, next_frame_id())
      .run();
  return db_.last_insert_rowid();
}

FrameId Store::next_frame_id() {
  // Not SQLite's choice (one past the largest id left in the table): once packing has emptied
  // `frame`, that would start again at 1 and reuse ids that frame blocks and records hold.
  if (!next_frame_id_) {
    next_frame_id_ = db_.query_int(
        "SELECT max((SELECT coalesce(max(id), 0) FROM frame), (SELECT coalesce(max(last_id), 0) FROM frame_block))");
  }
  return ++*next_frame_id_;
}

std::int64_t Store::series_id(DeviceId device, KnownSeries& known, std::size_t position, const Reading& sample) {
  std::uint32_t& at = known.by_position[position];
  if (at >= known.series.size() || *known.series[at].first != sample.name) at = series_index(device, known, sample);
  return known.series[at].second;
}

std::uint32_t Store::series_index(DeviceId device, KnownSeries& known, const Reading& sample) {
  const std::string* name = &*series_names_.insert(sample.name).first;
  const auto found = std::find_if(known.series.begin(), known.series.end(), [&](const auto& s) { return s.first == name; });
  if (found != known.series.end()) return static_cast<std::uint32_t>(found - known.series.begin());
  find_series_.bind(1, device).bind(2, sample.name);
  std::int64_t id = 0;
  if (find_series_.step()) {
    id = find_series_.int64(0);
    find_series_.reset();
  } else {
    find_series_.reset();
    insert_series_.bind(1, device).bind(2, sample.name).bind(3, sample.unit)
        .bind(4, std::int64_t{sample.canonical ? 1 : 0}).run();
    id = db_.last_insert_rowid();
  }
  known.series.emplace_back(name, id);
  return static_cast<std::uint32_t>(known.series.size() - 1);
}

std::optional<std::int64_t> Store::packed_record_hash(const RecordRow& record) {
  const auto civil = parse_device_string(record.device_time);
  if (!civil) return std::nullopt;
  return packed_records_.find_hash(record.device, record.kind, civil->naive_epoch_seconds());
}

InsertOutcome Store::insert_record(const RecordRow& record) {
  if (const auto packed = packed_record_hash(record)) {
    return *packed == record.fields_hash ? InsertOutcome::duplicate : InsertOutcome::conflict;
  }
  insert_record_.bind(1, record.device)
      .bind(2, std::int64_t{record.kind})
      .bind(3, record.device_time)
      .bind(4, std::int64_t{record.utc})
      .bind(5, std::int64_t{record.received})
      .bind(6, record.frame)
      .bind(7, record.fields_hash)
      .run();
  if (db_.changes() == 0) {
    find_record_fields_.bind(1, record.device).bind(2, std::int64_t{record.kind}).bind(3, record.device_time);
    bool same = false;
    if (find_record_fields_.step()) {
      const std::int64_t stored = find_record_fields_.is_null(1) ? fields_hash(find_record_fields_.text(0))  // before v6
                                                                 : find_record_fields_.int64(1);
      same = stored == record.fields_hash;
    }
    find_record_fields_.reset();
    return same ? InsertOutcome::duplicate : InsertOutcome::conflict;
  }
  insert_samples(record.device, record.utc, record.samples);
  return InsertOutcome::inserted;
}

void Store::insert_samples(DeviceId device, UtcMillis t, std::span<const Reading> samples) {
  if (samples.empty()) return;
  std::vector<SeriesValue> values;
  values.reserve(samples.size());
  auto& known = series_cache_[device];
  if (known.by_position.size() < samples.size()) known.by_position.resize(samples.size(), UINT32_MAX);
  for (const auto& sample : samples) {
    values.push_back({series_id(device, known, values.size(), sample), sample.value});
    if (recent_) pending_.push_back({values.back().series, {t, sample.value}});
  }
  insert_batch_.bind(1, std::int64_t{t}).bind(2, std::span<const std::uint8_t>(encode_batch(values))).run();
}

void Store::begin_job() {
  savepoint_.run();
  job_start_ = pending_.size();
  job_clock_changes_.clear();
}

void Store::end_job() {
  release_.run();
  job_clock_changes_.clear();
}

bool Store::undo_job() {
  const bool transaction_kept = db_.in_transaction();
  if (transaction_kept) {
    rollback_to_.run();
    release_.run();
  }
  pending_.resize(job_start_);
  undo_clock_changes();
  forget_ids();
  return transaction_kept;
}

void Store::undo_clock_changes() {
  for (auto change = job_clock_changes_.rbegin(); change != job_clock_changes_.rend(); ++change) {
    auto& samples = clock_cache_.at(change->device);
    samples.pop_back();
    if (change->dropped) samples.push_front(*change->dropped);
    if (!change->was_unsaved) unsaved_clocks_.erase(change->device);
  }
  job_clock_changes_.clear();
}

void Store::discard_pending() { pending_.clear(); }

void Store::publish_pending() {
  if (recent_) recent_->publish(pending_);
  pending_.clear();
}

void Store::insert_sample_row(std::int64_t series, const Point& point) {
  insert_sample_.bind(1, series).bind(2, std::int64_t{point.t}).bind(3, point.value).run();
  if (sample_floor_) sample_floor_ = std::min(*sample_floor_, UtcMillis{point.t});
}

void Store::insert_sample_rows(std::span<const SeriesPoints> slice) {
  for (const auto& [series, points] : slice) {
    for (const auto& p : points) insert_sample_row(series, p);
  }
}

std::int64_t Store::newest_batch_id() {
  const std::int64_t id = newest_batch_.step() ? newest_batch_.int64(0) : 0;
  newest_batch_.reset();
  return id;
}

std::int64_t Store::delete_batches_through(std::int64_t id, std::int64_t max_batches) {
  delete_batches_.bind(1, id).bind(2, max_batches).run();
  return db_.changes();
}

namespace {

// Appends the points of the sample_batch row `row` stands on (columns id, t_ms, data); false,
// appending nothing, when its bytes do not decode.
bool append_batch_points(Statement& row, std::vector<SeriesPoint>& points) {
  const auto values = decode_batch(row.blob(2));
  if (!values) return false;
  const UtcMillis t = row.int64(1);
  for (const auto& v : *values) points.push_back({v.series, {t, v.value}});
  return true;
}

}  // namespace

std::int64_t Store::move_batches_to_samples(std::int64_t max_batches) {
  std::vector<SeriesPoint> rows;
  std::int64_t moved = 0;
  std::int64_t last_id = 0;
  read_batches_.bind(1, max_batches);
  while (read_batches_.step()) {
    last_id = read_batches_.int64(0);
    if (!append_batch_points(read_batches_, rows)) {
      spdlog::error("sample batch {} does not decode and is dropped (its frame stays archived)", last_id);
    }
    ++moved;
  }
  read_batches_.reset();
  // Sorted by series and time, each series' b-tree tail is written once; stable, so that for a
  // repeated time the earliest batch is inserted first and kept.
  std::stable_sort(rows.begin(), rows.end(), [](const SeriesPoint& a, const SeriesPoint& b) {
    return std::tie(a.series, a.point.t) < std::tie(b.series, b.point.t);
  });
  for (const auto& r : rows) insert_sample_row(r.series, r.point);
  if (moved > 0) delete_batches_through(last_id);
  return moved;
}

std::int64_t Store::publish_stored_batches() {
  constexpr std::size_t points_per_publish = 100'000;
  std::vector<SeriesPoint> points;
  std::int64_t batches = 0;
  auto read_all = db_.prepare("SELECT id, t_ms, data FROM sample_batch ORDER BY id");
  while (read_all.step()) {
    ++batches;
    if (!append_batch_points(read_all, points)) {
      spdlog::error("sample batch {} does not decode and is left out (its frame stays archived)", read_all.int64(0));
    }
    if (points.size() >= points_per_publish) {
      recent_->publish(points);
      points.clear();
    }
  }
  recent_->publish(points);
  return batches;
}

void Store::flush_device_state() {
  // A device usually has both a new last-seen time and a new clock sample: one UPDATE for both.
  for (const auto& [device, seen] : unsaved_seen_) {
    const auto clock = unsaved_clocks_.erase(device) > 0 ? saved_clock(device) : std::nullopt;
    Statement& update = clock ? touch_device_and_clock_ : touch_device_;
    update.bind(1, device).bind(2, std::int64_t{seen.when}).bind(3, seen.peer);
    if (clock) update.bind(4, clock->samples_json).bind(5, clock->offset);
    update.run();
  }
  unsaved_seen_.clear();
  for (const DeviceId device : unsaved_clocks_) {
    if (const auto clock = saved_clock(device)) {
      save_clock_.bind(1, device).bind(2, clock->samples_json).bind(3, clock->offset).run();
    }
  }
  unsaved_clocks_.clear();
  job_clock_changes_.clear();
}

std::optional<Store::SavedClock> Store::saved_clock(DeviceId device) {
  const auto& samples = clock_samples(device);
  if (samples.empty()) return std::nullopt;
  // A JSON array of integers, built without a JSON document: it is saved for every device in
  // every commit.
  std::string json = "[";
  std::array<char, 24> digits{};
  for (const std::int64_t sample : samples) {
    if (json.size() > 1) json += ',';
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), sample).ptr;
    json.append(digits.data(), end);
  }
  json += ']';
  return SavedClock{std::move(json), *std::max_element(samples.begin(), samples.end())};
}

bool Store::insert_event(const EventRow& event) {
  Statement& s = event.source == "EventLog" ? insert_event_log_ : insert_event_;
  s.bind(1, event.device)
      .bind(2, event.source)
      .bind(3, event.device_time)
      .bind(4, event.code)
      .bind(5, event.text)
      .bind(6, std::int64_t{event.utc})
      .bind(7, std::int64_t{event.received})
      .bind(8, event.frame)
      .run();
  return db_.changes() > 0;
}

bool Store::store_config(DeviceId device, UtcMillis received, FrameId frame, const std::string& fields_json,
                         const std::string& personal_keys_json) {
  latest_config_.bind(1, device);
  if (latest_config_.step() && latest_config_.text(1) == fields_json) {
    const std::int64_t id = latest_config_.int64(0);
    latest_config_.reset();
    touch_config_.bind(1, id).bind(2, std::int64_t{received}).run();
    return false;
  }
  latest_config_.reset();
  insert_config_.bind(1, device).bind(2, std::int64_t{received}).bind(3, frame).bind(4, fields_json)
      .bind(5, personal_keys_json).run();
  return true;
}

void Store::record_command_sent(DeviceId device, const std::string& cmd_index, const std::string& command,
                                UtcMillis sent) {
  command_sent_.bind(1, device).bind(2, cmd_index).bind(3, command).bind(4, std::int64_t{sent}).run();
}

void Store::record_command_answer(DeviceId device, const std::string& cmd_index, const std::string& command,
                                  const std::string& status, UtcMillis answered) {
  command_answer_.bind(1, device).bind(2, cmd_index).bind(3, command).bind(4, std::int64_t{answered})
      .bind(5, status).run();
}

std::deque<std::int64_t>& Store::clock_samples(DeviceId device) {
  auto it = clock_cache_.find(device);
  if (it != clock_cache_.end()) return it->second;
  std::deque<std::int64_t> samples;
  load_clock_.bind(1, device);
  if (load_clock_.step()) {
    const auto parsed = nlohmann::json::parse(load_clock_.text(0), nullptr, false);
    if (parsed.is_array()) {
      for (const auto& v : parsed) {
        if (v.is_number_integer()) samples.push_back(v.get<std::int64_t>());
      }
    }
  }
  load_clock_.reset();
  while (samples.size() > clock_window) samples.pop_front();
  return clock_cache_.emplace(device, std::move(samples)).first->second;
}

std::int64_t Store::add_clock_sample(DeviceId device, std::int64_t offset_ms) {
  auto& samples = clock_samples(device);
  ClockChange change{device, std::nullopt, !unsaved_clocks_.insert(device).second};
  samples.push_back(offset_ms);
  if (samples.size() > clock_window) {
    change.dropped = samples.front();
    samples.pop_front();
  }
  job_clock_changes_.push_back(change);
  return *std::max_element(samples.begin(), samples.end());
}

std::optional<std::int64_t> Store::clock_offset(DeviceId device) {
  const auto& samples = clock_samples(device);
  if (samples.empty()) return std::nullopt;
  return *std::max_element(samples.begin(), samples.end());
}

std::optional<LatestRecord> Store::latest_record(DeviceId device, std::span<const int> kinds) {
  std::optional<LatestRecord> newest;
  for (int kind : kinds) {
    latest_record_.bind(1, device).bind(2, std::int64_t{kind});
    if (latest_record_.step()) {
      LatestRecord candidate{latest_record_.text(0), latest_record_.int64(1)};
      if (!newest || candidate.device_time > newest->device_time) newest = std::move(candidate);
    }
    latest_record_.reset();
    if (const auto packed = packed_records_.newest(device, kind)) {
      LatestRecord candidate{civil_from_naive_seconds(packed->device_s).to_device_string(), packed->utc};
      if (!newest || candidate.device_time > newest->device_time) newest = std::move(candidate);
    }
  }
  return newest;
}

void Store::note_rejection(const std::string& peer_host, const std::string& reason,
                           const std::optional<std::string>& serial, UtcMillis when) {
  rejection_.bind(1, peer_host).bind(2, reason).bind(3, serial).bind(4, std::int64_t{when}).run();
}

void Store::save_counter_guard(const std::string& vendor, const std::string& serial, const std::string& metric,
                               double exposed, std::optional<UtcMillis> below_since) {
  save_guard_.bind(1, vendor).bind(2, serial).bind(3, metric).bind(4, exposed);
  if (below_since) {
    save_guard_.bind(5, std::int64_t{*below_since});
  } else {
    save_guard_.bind_null(5);
  }
  save_guard_.run();
}

void Store::record_mqtt_topics(const std::vector<std::pair<std::string, std::string>>& published,
                               const std::vector<std::string>& emptied) {
  auto add = db_.prepare("INSERT OR REPLACE INTO mqtt_topic (topic, kind) VALUES (?1, ?2)");
  for (const auto& [topic, kind] : published) add.bind(1, topic).bind(2, kind).run();
  auto remove = db_.prepare("DELETE FROM mqtt_topic WHERE topic = ?1");
  for (const auto& topic : emptied) remove.bind(1, topic).run();
}

void Store::save_setting(const std::string& key, const std::string& value) {
  db_.prepare("INSERT OR REPLACE INTO setting (key, value) VALUES (?1, ?2)").bind(1, key).bind(2, value).run();
}

void Store::write_block(std::int64_t series, std::int64_t start, std::vector<Point> rows) {
  block_data_.bind(1, series).bind(2, start);
  std::vector<Point> merged;
  if (block_data_.step()) {
    const auto bytes = block_data_.blob(0);
    merged = decode_block(bytes, start).value_or(std::vector<Point>{});
  }
  block_data_.reset();
  // The block's points were stored first; a row with the same time does not replace them.
  merged = merge_first_wins(merged, rows, [](const Point& p) { return p.t; });
  const BlockSummary s = summarize(merged);
  put_block_.bind(1, series).bind(2, start).bind(3, s.count).bind(4, s.sum).bind(5, s.min).bind(6, s.max)
      .bind(7, std::int64_t{s.first.t}).bind(8, s.first.value).bind(9, std::int64_t{s.last.t}).bind(10, s.last.value)
      .run();
  put_block_data_.bind(1, series).bind(2, start).bind(3, std::span<const std::uint8_t>(encode_block(merged))).run();
  delete_rows_.bind(1, series).bind(2, std::int64_t{rows.front().t}).bind(3, std::int64_t{rows.back().t}).run();
}

std::int64_t Store::compact_samples(UtcMillis cutoff, std::int64_t max_rows) {
  // Finding no row before the cutoff reads the whole table (no index on time alone): the open
  // hour of a fleet, over a million rows, every pass. The floor says when there can be none.
  if (sample_floor_ && *sample_floor_ >= cutoff) return 0;
  // Rows come ordered by series then time, so each (series, hour) group is contiguous.
  rows_to_compact_.bind(1, std::int64_t{cutoff}).bind(2, max_rows);
  std::vector<std::tuple<std::int64_t, std::int64_t, std::vector<Point>>> groups;
  std::int64_t packed = 0;
  while (rows_to_compact_.step()) {
    const std::int64_t series = rows_to_compact_.int64(0);
    const Point p{rows_to_compact_.int64(1), rows_to_compact_.real(2)};
    const std::int64_t start = block_start(p.t);
    if (groups.empty() || std::get<0>(groups.back()) != series || std::get<1>(groups.back()) != start) {
      groups.emplace_back(series, start, std::vector<Point>{});
    }
    std::get<2>(groups.back()).push_back(p);
    ++packed;
  }
  rows_to_compact_.reset();
  for (auto& [series, start, rows] : groups) write_block(series, start, std::move(rows));
  if (packed < max_rows) sample_floor_ = cutoff;  // every row before the cutoff is in a block now
  return packed;
}

PackStep Store::pack_archive(UtcMillis cutoff) {
  return packer_.pack(cutoff);
}

void Store::drop_caches() {
  forget_ids();
  clock_cache_.clear();
  job_clock_changes_.clear();
}

void Store::forget_ids() {
  sample_floor_.reset();
  packed_records_.forget();
  series_cache_.clear();
  device_cache_.clear();
}

}  // namespace sunkeep::storage
