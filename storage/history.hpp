// Read-side queries for the HTTP API, on a read-only connection separate from the writer (WAL
// lets them run while devices are being acked).
#pragma once

#include "common/civil_time.hpp"
#include "storage/recent_samples.hpp"
#include "storage/sample_block.hpp"
#include "storage/sqlite.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::storage {

struct DeviceRow {
  std::int64_t id = 0;
  std::string vendor;
  std::string serial;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
  UtcMillis first_seen = 0;
  UtcMillis last_seen = 0;
  std::optional<std::string> peer;
  std::optional<std::int64_t> clock_offset_ms;
  std::optional<std::string> parent_vendor;
  std::optional<std::string> parent_serial;
};

struct SeriesInfo {
  std::int64_t id = 0;
  std::string name;
  std::string unit;
  bool canonical = false;
};

struct LatestValue {
  SeriesInfo series;
  Point point;
};

enum class Aggregate { avg, min, max, first, last };

struct EventItem {
  UtcMillis time = 0;
  std::optional<std::string> code;
  std::string source;
  std::optional<std::string> text;
};

struct FrameItem {
  UtcMillis time = 0;
  bool outgoing = false;
  std::int64_t command = 0;
  std::vector<std::uint8_t> raw;
};

struct RejectionItem {
  std::string peer_host;
  std::string reason;
  std::optional<std::string> serial;
  std::int64_t count = 0;
  UtcMillis last = 0;
};

// The counter guard's state of one device's lifetime counter (mqtt.md §3.3).
struct CounterGuardRow {
  std::string vendor;
  std::string serial;
  std::string metric;
  double exposed = 0;
  std::optional<UtcMillis> below_since;
};

// Half-open time range [from, to).
struct TimeRange {
  UtcMillis from = 0;
  UtcMillis to = 0;
};

class HistoryReader {
 public:
  // `recent`: the writer's committed samples not yet in the `sample` table (none without one).
  explicit HistoryReader(Connection& db, const RecentSamples* recent = nullptr) : db_(db), recent_(recent) {}

  std::vector<DeviceRow> devices();
  std::optional<DeviceRow> device(const std::string& vendor, const std::string& serial);
  std::vector<SeriesInfo> series_of(std::int64_t device);
  std::optional<SeriesInfo> series(std::int64_t device, const std::string& name);
  std::vector<LatestValue> latest(std::int64_t device);
  std::int64_t count_points(std::int64_t series, TimeRange range);
  std::vector<Point> raw_points(std::int64_t series, TimeRange range);
  // Buckets aligned to multiples of `step_ms` since the epoch; a bucket's time is its start.
  std::vector<Point> bucketed_points(std::int64_t series, TimeRange range, std::int64_t step_ms, Aggregate agg);
  // The start of the bucket holding a time (asked for times in rising order, mostly).
  using BucketOf = std::function<UtcMillis(UtcMillis)>;
  // Buckets of any width, e.g. local days.
  std::vector<Point> bucketed_points(std::int64_t series, TimeRange range, const BucketOf& bucket_of, Aggregate agg);
  // The newest point before `t`, if any.
  std::optional<Point> point_before(std::int64_t series, UtcMillis t);
  // Whether a point at or after `t` exists.
  bool has_point_since(std::int64_t series, UtcMillis t);
  // The time of the series' first point, if it has any.
  std::optional<UtcMillis> first_time(std::int64_t series);
  std::vector<EventItem> events(std::int64_t device, TimeRange range, std::int64_t limit);
  std::vector<FrameItem> frames(std::int64_t device, TimeRange range, std::int64_t limit);
  std::vector<RejectionItem> rejections();
  std::vector<CounterGuardRow> counter_guards();
  // The retained MQTT topics recorded as published: topic → kind (Store::record_mqtt_topics).
  std::map<std::string, std::string> mqtt_topics();
  // A value saved with Store::save_setting, if any.
  std::optional<std::string> setting(const std::string& key);

 private:
  // Unpacked points of `series` in `range`: `sample` rows and the recent overlay, by time.
  std::vector<Point> loose_points(std::int64_t series, TimeRange range);

  Connection& db_;
  const RecentSamples* recent_;
};

}  // namespace sunkeep::storage
