// Read-side queries for the HTTP API.
#include "storage/history.hpp"

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

// Floor division for bucket starts, correct for times before 1970 too.
constexpr const char* bucket_expr = "((t_ms - (((t_ms % ?4) + ?4) % ?4)))";

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
  auto newest = db_.prepare("SELECT t_ms, value FROM sample WHERE series_id = ?1 ORDER BY t_ms DESC LIMIT 1");
  for (auto& info : series_of(device)) {
    newest.bind(1, info.id);
    if (newest.step()) out.push_back({info, {newest.int64(0), newest.real(1)}});
    newest.reset();
  }
  return out;
}

std::int64_t HistoryReader::count_points(std::int64_t series, TimeRange range) {
  auto s = db_.prepare("SELECT count(*) FROM sample WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3");
  s.bind(1, series).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to});
  return s.step() ? s.int64(0) : 0;
}

std::vector<Point> HistoryReader::raw_points(std::int64_t series, TimeRange range) {
  auto s = db_.prepare(
      "SELECT t_ms, value FROM sample WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms");
  s.bind(1, series).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to});
  std::vector<Point> out;
  while (s.step()) out.push_back({s.int64(0), s.real(1)});
  return out;
}

std::vector<Point> HistoryReader::bucketed_points(std::int64_t series, TimeRange range, std::int64_t step_ms,
                                                  Aggregate agg) {
  // For first/last SQLite takes the bare `value` column from the row holding the min/max time.
  std::string select;
  switch (agg) {
    case Aggregate::avg: select = "avg(value)"; break;
    case Aggregate::min: select = "min(value)"; break;
    case Aggregate::max: select = "max(value)"; break;
    case Aggregate::first: select = "value, min(t_ms)"; break;
    case Aggregate::last: select = "value, max(t_ms)"; break;
  }
  auto s = db_.prepare("SELECT " + std::string(bucket_expr) + " AS bucket, " + select +
                       " FROM sample WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 GROUP BY bucket ORDER BY bucket");
  s.bind(1, series).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to}).bind(4, step_ms);
  std::vector<Point> out;
  while (s.step()) out.push_back({s.int64(0), s.real(1)});
  return out;
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
  auto s = db_.prepare(
      "SELECT received_ms, direction, command, raw FROM frame WHERE device_id = ?1 AND received_ms >= ?2 "
      "AND received_ms < ?3 ORDER BY received_ms DESC, id DESC LIMIT ?4");
  s.bind(1, device).bind(2, std::int64_t{range.from}).bind(3, std::int64_t{range.to}).bind(4, limit);
  std::vector<FrameItem> out;
  while (s.step()) out.push_back({s.int64(0), s.int64(1) != 0, static_cast<int>(s.int64(2)), s.blob(3)});
  return out;
}

std::vector<RejectionItem> HistoryReader::rejections() {
  auto s = db_.prepare("SELECT peer_host, reason, serial, count, last_ms FROM rejection ORDER BY last_ms DESC");
  std::vector<RejectionItem> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), optional_text(s, 2), s.int64(3), s.int64(4)});
  return out;
}

}  // namespace sunkeep::storage
