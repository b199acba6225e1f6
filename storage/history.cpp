// Read-side queries for the HTTP API.
#include "storage/history.hpp"

#include "storage/frame_block.hpp"
#include "storage/sorted_merge.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

namespace sunkeep::storage {

namespace {

constexpr const char* device_columns =
    "SELECT d.id, d.vendor, d.serial, d.model, d.firmware, d.first_seen_ms, d.last_seen_ms, d.peer, "
    "d.clock_offset_ms, p.vendor, p.serial FROM device d LEFT JOIN device p ON p.id = d.parent_id ";

std::optional<std::string> optional_text(const Statement& s, int column) {
  return s.is_null(column) ? std::nullopt : std::optional(s.text(column));
}

DeviceRow read_device(const Statement& s) {
  return {.id = s.int64(0), .vendor = s.text(1), .serial = s.text(2), .model = optional_text(s, 3),
          .firmware = optional_text(s, 4), .first_seen = s.int64(5), .last_seen = s.int64(6),
          .peer = optional_text(s, 7),
          .clock_offset_ms = s.is_null(8) ? std::nullopt : std::optional(s.int64(8)),
          .parent_vendor = optional_text(s, 9), .parent_serial = optional_text(s, 10)};
}

SeriesInfo read_series(const Statement& s) {
  return {.id = s.int64(0), .name = s.text(1), .unit = s.text(2), .canonical = s.int64(3) != 0};
}

}  // namespace

std::vector<DeviceRow> HistoryReader::devices() {
  auto s = db_.prepare(std::string(device_columns) + "ORDER BY d.vendor, d.serial");
  std::vector<DeviceRow> out;
  while (s.step()) out.push_back(read_device(s));
  return out;
}

std::optional<DeviceRow> HistoryReader::device(const std::string& vendor, const std::string& serial) {
  auto s = db_.prepare(std::string(device_columns) + "WHERE d.vendor = ?1 AND d.serial = ?2");
  s.bind(1, vendor).bind(2, serial);
  if (!s.step()) return std::nullopt;
  return read_device(s);
}

std::vector<SeriesInfo> HistoryReader::series_of(std::int64_t device) {
  auto s = db_.prepare("SELECT id, name, unit, canonical FROM series WHERE device_id = ?1 ORDER BY name");
  s.bind(1, device);
  std::vector<SeriesInfo> out;
  while (s.step()) out.push_back(read_series(s));
  return out;
}

std::optional<SeriesInfo> HistoryReader::series(std::int64_t device, const std::string& name) {
  auto s = db_.prepare("SELECT id, name, unit, canonical FROM series WHERE device_id = ?1 AND name = ?2");
  s.bind(1, device).bind(2, name);
  if (!s.step()) return std::nullopt;
  return read_series(s);
}

std::vector<LatestValue> HistoryReader::latest(std::int64_t device) {
  std::vector<LatestValue> out;
  auto newest_row = db_.prepare("SELECT t_ms, value FROM sample WHERE series_id = ?1 ORDER BY t_ms DESC LIMIT 1");
  auto newest_block = db_.prepare(
      "SELECT last_t, last_v FROM sample_block WHERE series_id = ?1 ORDER BY start_ms DESC LIMIT 1");
  for (auto& info : series_of(device)) {
    std::optional<Point> newest;
    if (recent_) newest = recent_->newest(info.id);
    for (Statement* s : {&newest_row, &newest_block}) {
      s->bind(1, info.id);
      if (s->step() && (!newest || s->int64(0) > newest->t)) newest = Point{s->int64(0), s->real(1)};
      s->reset();
    }
    if (newest) out.push_back({info, *newest});
  }
  return out;
}

namespace {

struct BlockRow {
  std::int64_t start = 0;
  BlockSummary summary;
};

// Blocks of `series` that may hold points in `range`, oldest first.
std::vector<BlockRow> blocks_in(Connection& db, std::int64_t series, TimeRange range) {
  auto s = db.prepare(
      "SELECT start_ms, count, sum, min, max, first_t, first_v, last_t, last_v FROM sample_block "
      "WHERE series_id = ?1 AND start_ms >= ?2 AND start_ms < ?3 ORDER BY start_ms");
  s.bind(1, series).bind(2, block_start(range.from)).bind(3, std::int64_t{range.to});
  std::vector<BlockRow> out;
  while (s.step()) {
    out.push_back({s.int64(0), {.count = s.int64(1), .sum = s.real(2), .min = s.real(3), .max = s.real(4),
                                .first = {s.int64(5), s.real(6)}, .last = {s.int64(7), s.real(8)}}});
  }
  return out;
}

bool inside(const BlockSummary& b, TimeRange range) { return b.first.t >= range.from && b.last.t < range.to; }

// Reads and decodes the points of blocks, by key.
class BlockPoints {
 public:
  explicit BlockPoints(Connection& db)
      : data_(db.prepare("SELECT data FROM sample_block_data WHERE series_id = ?1 AND start_ms = ?2")) {}

  // The block's points within `range`, appended to `out`. A block that does not decode is
  // skipped (it was written by this code; damage is reported by integrity checks, not here).
  void append(std::int64_t series, std::int64_t start, TimeRange range, std::vector<Point>& out) {
    data_.bind(1, series).bind(2, start);
    if (data_.step()) {
      const auto bytes = data_.blob(0);
      if (auto points = decode_block(bytes, start)) {
        for (const auto& p : *points) {
          if (p.t >= range.from && p.t < range.to) out.push_back(p);
        }
      }
    }
    data_.reset();
  }

 private:
  Statement data_;
};

std::vector<Point> rows_in(Connection& db, std::int64_t series, TimeRange range) {
  auto s = db.prepare("SELECT t_ms, value FROM sample WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms");
  s.bind(1, series).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to});
  std::vector<Point> out;
  while (s.step()) out.push_back({s.int64(0), s.real(1)});
  return out;
}

UtcMillis time_of(const Point& p) { return p.t; }

// One bucket's running aggregate: the summary of everything added so far.
struct Accumulator {
  BlockSummary total;

  void add(const BlockSummary& b) {
    if (total.count == 0) {
      total = b;
      return;
    }
    total.min = std::min(total.min, b.min);
    total.max = std::max(total.max, b.max);
    if (b.first.t < total.first.t) total.first = b.first;
    if (b.last.t > total.last.t) total.last = b.last;
    total.count += b.count;
    total.sum += b.sum;
  }
  void add(const Point& p) { add(BlockSummary{1, p.value, p.value, p.value, p, p}); }

  [[nodiscard]] double result(Aggregate agg) const {
    switch (agg) {
      case Aggregate::avg: return total.sum / static_cast<double>(total.count);
      case Aggregate::min: return total.min;
      case Aggregate::max: return total.max;
      case Aggregate::first: return total.first.value;
      case Aggregate::last: return total.last.value;
    }
    return 0;
  }
};

std::int64_t bucket_of(UtcMillis t, std::int64_t step_ms) { return period_start(t, step_ms); }

}  // namespace

std::vector<Point> HistoryReader::loose_points(std::int64_t series, TimeRange range) {
  // The overlay is read before the table: a drain that commits in between moves points from the
  // overlay into the table, so reading in this order sees them in one or both, never neither.
  const std::vector<Point> recent = recent_ ? recent_->points(series, range.from, range.to) : std::vector<Point>{};
  return merge_first_wins(rows_in(db_, series, range), recent, time_of);
}

std::int64_t HistoryReader::count_points(std::int64_t series, TimeRange range) {
  std::int64_t total = static_cast<std::int64_t>(loose_points(series, range).size());
  BlockPoints decoder(db_);
  for (const auto& block : blocks_in(db_, series, range)) {
    if (inside(block.summary, range)) {
      total += block.summary.count;
    } else {
      std::vector<Point> edge;
      decoder.append(series, block.start, range, edge);
      total += static_cast<std::int64_t>(edge.size());
    }
  }
  return total;
}

std::vector<Point> HistoryReader::raw_points(std::int64_t series, TimeRange range) {
  std::vector<Point> packed;
  BlockPoints decoder(db_);
  for (const auto& block : blocks_in(db_, series, range)) decoder.append(series, block.start, range, packed);
  // Where a loose point repeats a packed time, the packed value was stored first and wins.
  return merge_first_wins(packed, loose_points(series, range), time_of);
}

std::vector<Point> HistoryReader::bucketed_points(std::int64_t series, TimeRange range, std::int64_t step_ms,
                                                  Aggregate agg) {
  return bucketed_points(series, range, [step_ms](UtcMillis t) { return bucket_of(t, step_ms); }, agg);
}

std::vector<Point> HistoryReader::bucketed_points(std::int64_t series, TimeRange range, const BucketOf& bucket_of,
                                                  Aggregate agg) {
  std::map<std::int64_t, Accumulator> buckets;
  BlockPoints decoder(db_);
  std::vector<Point> loose;
  for (const auto& block : blocks_in(db_, series, range)) {
    const BlockSummary& b = block.summary;
    if (inside(b, range) && bucket_of(b.first.t) == bucket_of(b.last.t)) {
      buckets[bucket_of(b.first.t)].add(b);  // the whole block falls in one bucket
    } else {
      decoder.append(series, block.start, range, loose);
    }
  }
  for (const auto& p : loose_points(series, range)) loose.push_back(p);
  for (const auto& p : loose) buckets[bucket_of(p.t)].add(p);
  std::vector<Point> out;
  out.reserve(buckets.size());
  for (const auto& [start, acc] : buckets) out.push_back({start, acc.result(agg)});
  return out;
}

std::optional<Point> HistoryReader::point_before(std::int64_t series, UtcMillis t) {
  std::optional<Point> newest;
  const auto keep = [&newest](const Point& p) {
    if (!newest || p.t > newest->t) newest = p;
  };
  if (recent_) {
    const auto recent = recent_->points(series, std::numeric_limits<UtcMillis>::min(), t);
    if (!recent.empty()) keep(recent.back());
  }
  auto row = db_.prepare("SELECT t_ms, value FROM sample WHERE series_id = ?1 AND t_ms < ?2 ORDER BY t_ms DESC LIMIT 1");
  row.bind(1, series).bind(2, std::int64_t{t});
  if (row.step()) keep({row.int64(0), row.real(1)});
  // The newest block starting before `t` holds it unless all its points are at or after `t`;
  // then the one before does (blocks do not overlap).
  auto blocks = db_.prepare(
      "SELECT start_ms, first_t FROM sample_block WHERE series_id = ?1 AND start_ms < ?2 ORDER BY start_ms DESC LIMIT 2");
  blocks.bind(1, series).bind(2, std::int64_t{t});
  BlockPoints decoder(db_);
  while (blocks.step()) {
    if (blocks.int64(1) >= t) continue;
    std::vector<Point> points;
    decoder.append(series, blocks.int64(0), {std::numeric_limits<UtcMillis>::min(), t}, points);
    if (!points.empty()) keep(points.back());
    break;
  }
  return newest;
}

bool HistoryReader::has_point_since(std::int64_t series, UtcMillis t) {
  if (recent_) {
    const auto newest = recent_->newest(series);
    if (newest && newest->t >= t) return true;
  }
  auto row = db_.prepare("SELECT 1 FROM sample WHERE series_id = ?1 AND t_ms >= ?2 LIMIT 1");
  row.bind(1, series).bind(2, std::int64_t{t});
  if (row.step()) return true;
  auto block = db_.prepare("SELECT 1 FROM sample_block WHERE series_id = ?1 AND start_ms >= ?2 AND last_t >= ?3 LIMIT 1");
  block.bind(1, series).bind(2, block_start(t)).bind(3, std::int64_t{t});
  return block.step();
}

std::optional<UtcMillis> HistoryReader::first_time(std::int64_t series) {
  std::optional<UtcMillis> first;
  const auto keep = [&first](UtcMillis t) { first = first ? std::min(*first, t) : t; };
  if (recent_) {
    const auto recent = recent_->points(series, std::numeric_limits<UtcMillis>::min(), std::numeric_limits<UtcMillis>::max());
    if (!recent.empty()) keep(recent.front().t);
  }
  for (const char* sql : {"SELECT min(t_ms) FROM sample WHERE series_id = ?1",
                          "SELECT min(first_t) FROM sample_block WHERE series_id = ?1"}) {
    auto s = db_.prepare(sql);
    s.bind(1, series);
    if (s.step() && !s.is_null(0)) keep(s.int64(0));
  }
  return first;
}

std::vector<EventItem> HistoryReader::events(std::int64_t device, TimeRange range, std::int64_t limit) {
  auto s = db_.prepare(
      "SELECT utc_ms, code, source, text FROM event WHERE device_id = ?1 AND utc_ms >= ?2 AND utc_ms < ?3 "
      "ORDER BY utc_ms DESC, id DESC LIMIT ?4");
  s.bind(1, device).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to}).bind(4, limit);
  std::vector<EventItem> out;
  while (s.step()) out.push_back({s.int64(0), optional_text(s, 1), s.text(2), optional_text(s, 3)});
  return out;
}

std::vector<FrameItem> HistoryReader::frames(std::int64_t device, TimeRange range, std::int64_t limit) {
  // Newest first: (received, id) descending, over the unpacked rows and the packed hours.
  struct Found {
    std::int64_t id;
    FrameItem item;
  };
  const auto newer = [](const Found& a, const Found& b) {
    return std::tie(a.item.time, a.id) > std::tie(b.item.time, b.id);
  };
  std::vector<Found> found;
  const auto full = static_cast<std::size_t>(std::max<std::int64_t>(limit, 0));
  // Newest first and one copy per id (an hour being packed has frames both as rows and in
  // blocks until its rows are deleted), at most `limit`.
  const auto settle = [&] {
    std::sort(found.begin(), found.end(), newer);
    found.erase(std::unique(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.id == b.id; }),
                found.end());
    if (found.size() > full) found.resize(full);
  };
  auto rows = db_.prepare(
      "SELECT id, received_ms, direction, command, raw FROM frame WHERE device_id = ?1 AND received_ms >= ?2 "
      "AND received_ms < ?3 ORDER BY received_ms DESC, id DESC LIMIT ?4");
  rows.bind(1, device).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to}).bind(4, limit);
  while (rows.step()) {
    found.push_back({rows.int64(0), {rows.int64(1), rows.int64(2) != 0, rows.int64(3), rows.blob(4)}});
  }
  // A block holds one UTC hour, so only blocks starting in the hour before `from` or later can
  // overlap; newest first, stopping once `limit` frames newer than the next block are found.
  auto blocks = db_.prepare(
      "SELECT end_ms, data FROM frame_block WHERE device_id = ?1 AND start_ms >= ?2 AND start_ms < ?3 "
      "AND end_ms >= ?4 ORDER BY start_ms DESC");
  blocks.bind(1, device).bind(2, std::int64_t{range.from - block_span_ms}).bind(3, std::int64_t{range.to})
      .bind(4, std::int64_t{range.from});
  while (blocks.step()) {
    if (found.size() >= full && blocks.int64(0) < found.back().item.time) break;
    auto decoded = decode_frame_block(blocks.blob(1));
    if (!decoded) spdlog::error("a frame block of device {} does not decode; its frames are left out", device);
    for (auto& f : decoded.value_or(std::vector<PackedFrame>{})) {
      if (f.received < range.from || f.received >= range.to) continue;
      found.push_back({f.id, {f.received, f.direction != 0, f.command, std::move(f.raw)}});
    }
    settle();
  }
  std::vector<FrameItem> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.item));
  return out;
}

std::vector<RejectionItem> HistoryReader::rejections() {
  auto s = db_.prepare("SELECT peer_host, reason, serial, count, last_ms FROM rejection ORDER BY last_ms DESC");
  std::vector<RejectionItem> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), optional_text(s, 2), s.int64(3), s.int64(4)});
  return out;
}

std::optional<std::string> HistoryReader::setting(const std::string& key) {
  auto s = db_.prepare("SELECT value FROM setting WHERE key = ?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::vector<CounterGuardRow> HistoryReader::counter_guards() {
  auto s = db_.prepare(
      "SELECT d.vendor, d.serial, g.metric, g.exposed, g.below_since_ms FROM counter_guard g "
      "JOIN device d ON d.id = g.device_id");
  std::vector<CounterGuardRow> out;
  while (s.step()) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.real(3),
                   s.is_null(4) ? std::nullopt : std::optional<UtcMillis>(s.int64(4))});
  }
  return out;
}

std::map<std::string, std::string> HistoryReader::mqtt_topics() {
  auto s = db_.prepare("SELECT topic, kind FROM mqtt_topic");
  std::map<std::string, std::string> out;
  while (s.step()) out.emplace(s.text(0), s.text(1));
  return out;
}

}  // namespace sunkeep::storage
